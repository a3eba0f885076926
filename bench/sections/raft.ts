// A 3-node Raft group over real TCP (nodes on 127.0.0.1, .2, .3) with the
// shared disk log on real files (fdatasync per batch), in one process.
// 64 concurrent proposers each propose a 100-byte entry and wait until the
// leader applied it, for a fixed duration. Reports committed entries/s and
// p50/p99 commit latency (propose to applied on the leader).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { NodeFileSystem } from "../../src/fs/node-file-system.js";
import { RaftLogStorage } from "../../src/raft/log-storage/log-storage.js";
import { silentRaftLogger } from "../../src/raft/logger.js";
import { type NodeHost, startNode } from "../../src/raft/node-host.js";
import { Prng } from "../../src/raft/prng.js";
import type { PeerAddress, TcpTransport } from "../../src/raft/transport/tcp-transport.js";
import { silentLogger } from "../../src/util/logger.js";
import { freePort } from "../../test/helpers/memcached-process.js";
import type { BenchSection } from "../run.js";

const durationSeconds = Number(process.env.BENCH_SECONDS ?? 15);
const proposers = 64;
const entryBytes = 100;
const tickMs = 50;
const groupId = 1;

interface Node {
  host: NodeHost;
  transport: TcpTransport;
  storage: RaftLogStorage;
}

async function startCluster(directory: string): Promise<Node[]> {
  const addresses = new Map<number, PeerAddress>();
  for (const id of [1, 2, 3]) {
    const host = `127.0.0.${id}`;
    addresses.set(id, { host, port: await freePort(host) });
  }
  const nodes: Node[] = [];
  for (const id of [1, 2, 3]) {
    const storage = await RaftLogStorage.open(
      new NodeFileSystem(),
      join(directory, `node-${id}`, "raft-log"),
    );
    const { host, transport } = await startNode({
      nodeId: id,
      storage,
      addresses,
      groups: [
        {
          groupId,
          config: {
            random: new Prng(id),
            logger: silentRaftLogger,
            electionTicks: 20,
            heartbeatTicks: 2,
          },
          bootstrap: { voters: [1, 2, 3], learners: [] },
          apply: () => {},
        },
      ],
      tickMs,
      logger: silentLogger,
    });
    nodes.push({ host, transport, storage });
  }
  return nodes;
}

async function waitForLeader(nodes: Node[]): Promise<Node> {
  nodes[0]!.host.group(groupId)!.campaign();
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const leader = nodes.find((node) => node.host.group(groupId)!.raft.role === "leader");
    if (leader !== undefined && leader.host.group(groupId)!.raft.log.committed > 0) return leader;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("raft bench: no leader within 10 s");
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function measure(
  leader: Node,
): Promise<{ committed: number; seconds: number; latencies: Float64Array }> {
  const latencies: number[] = [];
  const payload = new Uint8Array(entryBytes).fill(7);
  const start = performance.now();
  const end = start + durationSeconds * 1000;
  let committed = 0;
  const proposer = async () => {
    while (performance.now() < end) {
      const begin = performance.now();
      await leader.host.propose(groupId, payload);
      latencies.push(performance.now() - begin);
      committed++;
    }
  };
  await Promise.all(Array.from({ length: proposers }, proposer));
  const seconds = (performance.now() - start) / 1000;
  return { committed, seconds, latencies: Float64Array.from(latencies).sort() };
}

const section: BenchSection = {
  name: "raft",
  description: `3-node group, TCP on 127.0.0.1-3, disk log with fdatasync, ${proposers} proposers, ${entryBytes}-byte entries, ${durationSeconds} s`,
  async run() {
    const directory = mkdtempSync(join(tmpdir(), "memraft-raft-bench-"));
    const nodes = await startCluster(directory);
    try {
      const leader = await waitForLeader(nodes);
      const syncsBefore = nodes.map((node) => node.storage.syncCount);
      const result = await measure(leader);
      const syncs = nodes.map((node, i) => node.storage.syncCount - syncsBefore[i]!);
      const rate = result.committed / result.seconds;
      console.log(`committed entries/s: ${Math.round(rate)} (target >= 20000)`);
      console.log(
        `commit latency ms: p50 ${percentile(result.latencies, 0.5).toFixed(2)}, p99 ${percentile(result.latencies, 0.99).toFixed(2)}`,
      );
      console.log(
        `entries committed: ${result.committed} in ${result.seconds.toFixed(1)} s; fdatasyncs per node: ${syncs.join(", ")}`,
      );
      console.log(
        `transport frames sent: ${nodes.map((node) => node.transport.sentFrames).join(", ")}; dropped messages: ${nodes.map((node) => node.transport.droppedMessages).join(", ")}`,
      );
    } finally {
      for (const node of nodes) {
        node.host.stop();
        await node.transport.close();
        await node.storage.close();
      }
      rmSync(directory, { recursive: true, force: true });
    }
  },
};

export default section;
