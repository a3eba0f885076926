// Three nodes on 127.0.0.1-3 over real TCP, each with a disk log on the
// fault file system: a group elects, replicates and survives a dropped
// connection; a peer speaking the wrong protocol is refused.

import { connect } from "node:net";
import test from "ava";
import { RaftLogStorage } from "../../../src/raft/log-storage/log-storage.js";
import { silentRaftLogger } from "../../../src/raft/logger.js";
import { startNode } from "../../../src/raft/node-host.js";
import { Prng } from "../../../src/raft/prng.js";
import { type PeerAddress, TcpTransport } from "../../../src/raft/transport/tcp-transport.js";
import { type Entry, EntryType, type Message, MessageType } from "../../../src/raft/types.js";
import { silentLogger } from "../../../src/util/logger.js";
import { FaultFileSystem } from "../../helpers/fault-fs.js";
import { freePort, freePorts } from "../../helpers/memcached-process.js";

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function cluster(tickMs = 10) {
  const addresses = new Map<number, PeerAddress>();
  for (const id of [1, 2, 3]) {
    const host = `127.0.0.${id}`;
    addresses.set(id, { host, port: await freePort(host) });
  }
  const nodes = [];
  for (const id of [1, 2, 3]) {
    const fs = new FaultFileSystem();
    const storage = await RaftLogStorage.open(fs, "/raft-log");
    const applied: Entry[] = [];
    const { host, transport } = await startNode({
      nodeId: id,
      storage,
      addresses,
      groups: [
        {
          groupId: 5,
          config: { random: new Prng(id), logger: silentRaftLogger, electionTicks: 10 },
          bootstrap: { voters: [1, 2, 3], learners: [] },
          apply: (entry) => applied.push(entry),
        },
      ],
      tickMs,
      logger: silentLogger,
    });
    nodes.push({ id, host, transport, storage, applied });
  }
  return nodes;
}

/** Frame header (length, crc) + kind + count. */
const keepaliveFrameBytes = 8 + 1 + 4;

test("a group over TCP elects, replicates to every node, and recovers from a dropped connection", async (t) => {
  const nodes = await cluster();
  try {
    nodes[0]!.host.group(5)!.campaign();
    await until(() => nodes[0]!.host.group(5)!.raft.role === "leader", "a leader");
    const texts = (n: (typeof nodes)[number]) =>
      n.applied
        .filter((e) => e.type === EntryType.normal && e.data.length > 0)
        .map((e) => new TextDecoder().decode(e.data));
    await Promise.all(
      ["a", "b", "c"].map((text) => nodes[0]!.host.propose(5, new TextEncoder().encode(text))),
    );
    await until(() => nodes.every((n) => texts(n).length === 3), "replication");
    for (const node of nodes) t.deepEqual(texts(node), ["a", "b", "c"]);
    t.true(nodes[0]!.transport.connected(2) && nodes[0]!.transport.connected(3));
    // One connection per pair: node 1 dialled 2 and 3; node 3 accepted from 1 and 2.
    // Cut node 1's link to 2 from under it: it must reconnect and catch up.
    (
      nodes[0]!.transport as unknown as { peers: Map<number, { socket?: { destroy(): void } }> }
    ).peers
      .get(2)!
      .socket!.destroy();
    await nodes[0]!.host.propose(5, new TextEncoder().encode("d"));
    await until(() => texts(nodes[1]!).includes("d"), "catch-up after reconnect");
    t.true(nodes[0]!.transport.connected(2));
  } finally {
    for (const node of nodes) {
      node.host.stop();
      await node.transport.close();
    }
  }
});

test("an idle group goes quiet over TCP; when the leader's node goes, the followers wake and elect", async (t) => {
  // Ticks of 40 ms: an election timeout (400 ms) outlasts a busy machine's pauses.
  const nodes = await cluster(40);
  try {
    const group = (index: number) => nodes[index]!.host.group(5)!;
    group(0).campaign();
    await until(() => group(0).raft.role === "leader", "a leader");
    await nodes[0]!.host.propose(5, new TextEncoder().encode("a"));
    await until(() => nodes.every((_, i) => group(i).quiesced), "every member quiet");
    const raftFrames = () => nodes.map((n) => n.transport.sentFrames - n.transport.keepalivesSent);
    const framesWhenQuiet = raftFrames();
    const keepalives = nodes[1]!.transport.keepalivesSent;
    // Election timeouts pass with no Raft message:
    // the nodes only exchange keepalives, and nobody times out.
    await until(() => nodes[1]!.transport.keepalivesSent >= keepalives + 40, "keepalives");
    t.deepEqual(raftFrames(), framesWhenQuiet, "no Raft traffic while quiet");
    t.true(nodes.every((_, i) => group(i).quiesced));
    t.false(nodes[1]!.transport.suspects(1, 400), "an idle peer that is up is not suspected");
    t.is(group(1).raft.lead, 1);

    nodes[0]!.host.stop();
    await nodes[0]!.transport.close();
    await until(() => nodes[1]!.transport.suspects(1, 400), "node 1 suspected");
    await until(
      () => group(1).raft.role === "leader" || group(2).raft.role === "leader",
      "a new leader among the woken followers",
    );
    const leader = group(1).raft.role === "leader" ? 1 : 2;
    await nodes[leader]!.host.propose(5, new TextEncoder().encode("b"));
    await until(
      () =>
        nodes.slice(1).every((n) => n.applied.some((e) => e.data.length === 1 && e.data[0] === 98)),
      "the new leader's write applied on both survivors",
    );
    t.pass();
  } finally {
    for (const node of nodes) {
      node.host.stop();
      await node.transport.close();
    }
  }
});

test("messages for a peer that is not connected are dropped, not delivered stale once it connects", async (t) => {
  // Node 1 listens on a port the kernel picks as it binds: a port found free
  // earlier on 127.0.0.1 can be taken meanwhile by another test's outgoing
  // connection (seen in CI). Node 2's port must be known before it starts
  // (node 1 dials it); on 127.0.0.2 outgoing connections do not take ports.
  const addresses = new Map<number, PeerAddress>([
    [1, { host: "127.0.0.1", port: 0 }],
    [2, { host: "127.0.0.2", port: await freePort("127.0.0.2") }],
  ]);
  const received: Message[] = [];
  const make = (nodeId: number) =>
    new TcpTransport({
      nodeId,
      listen: addresses.get(nodeId)!,
      peers: addresses,
      deliver: (messages) => received.push(...messages),
      logger: silentLogger,
      reconnectDelayMsMax: 50,
    });
  const one = make(1);
  await one.start();
  addresses.set(1, { host: "127.0.0.1", port: one.port() });
  const two = make(2);
  try {
    const heartbeat = (context: number): Message => ({
      groupId: 1,
      from: 1,
      to: 2,
      term: 1,
      type: MessageType.heartbeat,
      commit: 0,
      context,
      quiesce: false,
    });
    for (let i = 1; i <= 100; i++) one.send(heartbeat(i));
    t.is(one.droppedMessages, 100, "node 2 is down: nothing is kept for it");
    await two.start();
    await until(() => one.connected(2), "node 1 to connect to node 2");
    one.send(heartbeat(101));
    await until(() => received.length > 0, "the message sent after connecting");
    t.deepEqual(
      received.map((m) => (m.type === MessageType.heartbeat ? m.context : -1)),
      [101],
    );
  } finally {
    await one.close();
    await two.close();
  }
});

test("a peer with the wrong handshake is disconnected", async (t) => {
  const port = await freePort("127.0.0.1");
  const addresses = new Map<number, PeerAddress>([[1, { host: "127.0.0.1", port }]]);
  const transport = new TcpTransport({
    nodeId: 1,
    listen: addresses.get(1)!,
    peers: addresses,
    deliver: () => t.fail(),
    logger: silentLogger,
  });
  await transport.start();
  try {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    const closed = await new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      setTimeout(() => resolve(false), 5000).unref();
    });
    t.true(closed);
  } finally {
    await transport.close();
  }
});

test("heartbeats of many groups cross as one compact frame and arrive as the messages sent", async (t) => {
  const [portOne, portTwo] = (await freePorts("127.0.0.1", 2)) as [number, number];
  const addresses = new Map<number, PeerAddress>([
    [1, { host: "127.0.0.1", port: portOne }],
    [2, { host: "127.0.0.1", port: portTwo }],
  ]);
  const received: Message[] = [];
  const transports = [1, 2].map(
    (id) =>
      new TcpTransport({
        nodeId: id,
        listen: addresses.get(id)!,
        peers: addresses,
        deliver: (messages) => received.push(...messages),
        logger: silentLogger,
      }),
  );
  for (const transport of transports) await transport.start();
  const [one] = transports as [TcpTransport, TcpTransport];
  try {
    await until(() => one.connected(2), "a connection");
    const sent: Message[] = [];
    for (let group = 0; group < 200; group++) {
      const envelope = { groupId: group * 1000, from: 1, to: 2, term: 7 + group };
      sent.push(
        group % 2 === 0
          ? {
              ...envelope,
              type: MessageType.heartbeat,
              commit: group * 2 ** 40,
              context: group,
              quiesce: group % 4 === 0,
            }
          : { ...envelope, type: MessageType.heartbeatResponse, context: 2 ** 53 - 1 - group },
      );
    }
    const append: Message = {
      groupId: 3,
      from: 1,
      to: 2,
      term: 1,
      type: MessageType.append,
      index: 0,
      logTerm: 0,
      entries: [],
      commit: 0,
    };
    // Keepalives may cross an idle connection meanwhile: they are not the pass measured.
    const writes = one.socketWrites - one.keepalivesSent;
    const bytes = one.sentBytes - one.keepalivesSent * keepaliveFrameBytes;
    for (const message of [...sent.slice(0, 100), append, ...sent.slice(100)]) one.send(message);
    await until(() => received.length === 201, "delivery");
    t.deepEqual(received, [append, ...sent], "the append's frame first, then the heartbeats");
    t.is(one.socketWrites - one.keepalivesSent - writes, 1, "both frames in one write");
    t.is(one.coalescedHeartbeats, 200);
    const perHeartbeat =
      (one.sentBytes - one.keepalivesSent * keepaliveFrameBytes - bytes - 100) / 200;
    t.true(perHeartbeat < 16, `${perHeartbeat} bytes per heartbeat`);
  } finally {
    for (const transport of transports) await transport.close();
  }
});
