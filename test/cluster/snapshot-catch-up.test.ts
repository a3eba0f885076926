// A node that is down while the leader cuts its log cannot catch up from the
// log: it must be sent a snapshot. Three nodes as separate processes; a
// follower is killed; the leader takes sets until it checkpoints and
// truncates its log (node-runtime.ts: at least compactEntriesMin flushed
// entries, a tail of logTailEntries kept; 20,000 and 5,000 by default, which
// no flag changes); the follower restarts with stale reads (so that it
// serves its own state), installs a snapshot, and serves every key's last
// value and a value written after its restart.

import test from "ava";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import { KvClient } from "../helpers/kv-client.js";
import type { ClusterNode } from "../helpers/process-cluster.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

const cluster = useProcessCluster({ nodeCount: 3 });

/** Sets written while the follower is down, at most: a cut needs 20,000 flushed. */
const writeCountMax = 100_000;
const keyCount = 1000;
const valueBytes = 400;
const batchSize = 25;
const lanes = 40;

test.serial("a node down while the log is truncated catches up from a snapshot", async (t) => {
  t.timeout(170_000);
  const leader = (await cluster().leader()).node;
  const victim = cluster().nodes.find((node) => node.id !== leader.id)!;
  const truncations = cluster().watchLog(/"msg":"raft log truncated"/);
  const installs = cluster().watchLog(/"msg":"installing a snapshot"/);
  await cluster().kill(victim.id);

  const writeStarted = Date.now();
  const { expected, written } = await writeBulk(
    leader,
    () => truncations.lines(leader.id).length > 0,
  );
  t.log(`${written} sets (${keyCount} keys) in ${Date.now() - writeStarted} ms`);
  t.true(truncations.lines(leader.id).length > 0, `${leader.id} did not truncate its log`);
  t.log(`${leader.id}: ${truncations.lines(leader.id)[0]}`);

  await cluster().startNode(victim.id, { readMode: "stale" });
  const readyMs = Date.now();
  await waitFor(
    `${victim.id} to install a snapshot`,
    () => installs.lines(victim.id).length > 0,
    30_000,
    50,
  );
  const marker = `after-restart-${readyMs}`;
  t.is(await setThrough(leader, "catch-up:marker", marker), "STORED");
  await waitFor(
    `${victim.id} to serve a value written after its restart`,
    async () => (await staleGet(victim, "catch-up:marker")) === marker,
    30_000,
    50,
  );
  t.log(`${victim.id} caught up ${Date.now() - readyMs} ms after its restart`);
  const served = await staleGetAll(victim, [...expected.keys()]);
  const mismatched = [...expected].filter(([key, value]) => served.get(key) !== value);
  t.deepEqual(
    mismatched.map(([key]) => key),
    [],
    `${victim.id} serves other values for these keys`,
  );
});

/**
 * Sets of bulk:<i mod keyCount> through `node` on many connections (the
 * server takes one command at a time per connection), in pipelined batches,
 * until `enough()` or writeCountMax; every set must be acknowledged. Returns
 * each key's last value: a key is always written by the same lane (keyCount
 * is a multiple of lanes), so it is the last one that lane sent.
 */
async function writeBulk(
  node: ClusterNode,
  enough: () => boolean,
): Promise<{ expected: Map<string, string>; written: number }> {
  const expected = new Map<string, string>();
  let written = 0;
  const lane = async (laneIndex: number) => {
    const client = await RawClient.connect(node.port, node.host);
    try {
      for (let sent = 0; sent < writeCountMax / lanes && !enough(); sent += batchSize) {
        let commands = "";
        for (let n = sent; n < sent + batchSize; n++) {
          const i = n * lanes + laneIndex;
          const key = `bulk:${i % keyCount}`;
          const value = `${i}:`.padEnd(valueBytes, "v");
          expected.set(key, value);
          commands += `set ${key} 0 0 ${value.length}\r\n${value}\r\n`;
        }
        client.discard();
        await client.write(commands);
        const replies = await client.until((bytes) => bytes.length >= batchSize * 8, 60_000);
        if (replies.toString("latin1") !== "STORED\r\n".repeat(batchSize))
          throw new Error(`bulk sets: ${replies.toString("latin1").slice(0, 200)}`);
        written += batchSize;
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, laneIndex) => lane(laneIndex)));
  return { expected, written };
}

async function setThrough(node: ClusterNode, key: string, value: string): Promise<string> {
  const client = new KvClient(node, 10_000);
  try {
    if (!(await client.connect())) return "no connection";
    const reply = await client.set(key, value);
    return reply.kind === "line" ? reply.line : JSON.stringify(reply);
  } finally {
    client.close();
  }
}

/** Reads keys through `node` on one connection; a miss or an error leaves a key out. */
async function staleGetAll(
  node: ClusterNode,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const client = new KvClient(node, 5_000);
  const values = new Map<string, string>();
  try {
    for (const key of keys) {
      if (!(await client.connect())) break;
      const reply = await client.get(key);
      if (reply.kind === "value" && reply.value !== undefined) values.set(key, reply.value);
    }
  } finally {
    client.close();
  }
  return values;
}

async function staleGet(node: ClusterNode, key: string): Promise<string | undefined> {
  return (await staleGetAll(node, [key])).get(key);
}
