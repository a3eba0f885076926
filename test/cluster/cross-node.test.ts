// What a client does through one node of a 3-node cluster (separate
// processes), a client of any other node sees: the same item and cas, the
// same expiry, the same flush_all. The differential suite cannot show this:
// each of its scripts talks to one node.

import test from "ava";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import type { ClusterNode } from "../helpers/process-cluster.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

const cluster = useProcessCluster({ nodeCount: 3 });

/** Sends commands to `node` on a fresh connection; reads `count` replies ending in `terminator`. */
async function ask(
  node: ClusterNode,
  commands: string,
  terminator = "\r\n",
  count = 1,
): Promise<string> {
  const client = await RawClient.connect(node.port, node.host);
  try {
    await client.write(commands);
    const received = await client.until(
      (bytes) => bytes.toString("latin1").split(terminator).length > count,
    );
    return received.toString("latin1");
  } finally {
    client.close();
  }
}

function get(node: ClusterNode, key: string): Promise<string> {
  return ask(node, `gets ${key}\r\n`, "END\r\n");
}

async function everyNode(read: (node: ClusterNode) => Promise<string>): Promise<string[]> {
  return Promise.all(cluster().nodes.map(read));
}

test.serial(
  "an item written through one node has the same value and cas on every node",
  async (t) => {
    t.is(await ask(cluster().nodes[0]!, "set same 3 0 5\r\nhello\r\n"), "STORED\r\n");
    const replies = await everyNode((node) => get(node, "same"));
    t.regex(replies[0]!, /^VALUE same 3 5 \d+\r\nhello\r\nEND\r\n$/);
    t.deepEqual(replies, Array(replies.length).fill(replies[0]));
  },
);

test.serial("me right behind a write sees it, through a follower too", async (t) => {
  for (const node of cluster().nodes) {
    // Pipelined: the follower has not yet heard that the write committed.
    const reply = await ask(node, `ms me-${node.id} 1 T0\r\nx\r\nme me-${node.id}\r\n`, "\r\n", 2);
    t.regex(reply, new RegExp(`^HD\r\nME me-${node.id} exp=-1 `), node.id);
  }
});

test.serial("an item expires on every node", async (t) => {
  const writer = cluster().nodes[1]!;
  t.is(await ask(writer, "set expiring 0 3 1\r\nx\r\n"), "STORED\r\n");
  for (const reply of await everyNode((node) => get(node, "expiring")))
    t.regex(reply, /^VALUE expiring 0 1 \d+\r\nx\r\nEND\r\n$/);
  await waitFor(
    "every node to stop serving the expired item",
    async () => (await everyNode((node) => get(node, "expiring"))).every((r) => r === "END\r\n"),
    8000,
    100,
  );
  t.deepEqual(await everyNode((node) => get(node, "expiring")), ["END\r\n", "END\r\n", "END\r\n"]);
});

test.serial("flush_all through one node empties every node", async (t) => {
  const [first, second, third] = cluster().nodes;
  t.is(await ask(first!, "set f1 0 0 1\r\na\r\n"), "STORED\r\n");
  t.is(await ask(second!, "set f2 0 0 1\r\nb\r\n"), "STORED\r\n");
  t.is(await ask(third!, "flush_all\r\n"), "OK\r\n");
  t.deepEqual(await everyNode((node) => ask(node, "get f1 f2\r\n", "END\r\n")), [
    "END\r\n",
    "END\r\n",
    "END\r\n",
  ]);
  t.is(await ask(second!, "set f3 0 0 1\r\nc\r\n"), "STORED\r\n");
  for (const reply of await everyNode((node) => ask(node, "get f3\r\n", "END\r\n")))
    t.is(reply, "VALUE f3 0 1\r\nc\r\nEND\r\n");
});

test.serial("a delayed flush_all takes effect on every node at its time", async (t) => {
  const [first, second, third] = cluster().nodes;
  t.is(await ask(first!, "set delayed 0 0 1\r\nx\r\n"), "STORED\r\n");
  // memcached (and memraft) start a delayed flush one second early: 3 leaves at least one.
  t.is(await ask(second!, "flush_all 3\r\n"), "OK\r\n");
  for (const reply of await everyNode((node) => ask(node, "get delayed\r\n", "END\r\n")))
    t.is(reply, "VALUE delayed 0 1\r\nx\r\nEND\r\n");
  await waitFor(
    "every node to drop the item at the flush time",
    async () =>
      (await everyNode((node) => ask(node, "get delayed\r\n", "END\r\n"))).every(
        (reply) => reply === "END\r\n",
      ),
    8000,
    100,
  );
  // Items written after the flush time stay.
  t.is(await ask(third!, "set later 0 0 1\r\ny\r\n"), "STORED\r\n");
  for (const reply of await everyNode((node) => ask(node, "get later delayed\r\n", "END\r\n")))
    t.is(reply, "VALUE later 0 1\r\ny\r\nEND\r\n");
});
