// How long a rebalance takes: a 3-node cluster (16 groups, replication
// factor 3, so every node holds all the data) is filled with BENCH_REBALANCE_MB
// megabytes (default 1024) of 64 KiB values; a 4th node is added and the
// file applied; the time until `cluster status` says the rebalance finished
// is the figure, with the data the new node received. The peer measured in
// the same run is the machine itself: a plain file copy of one node's data
// directory, the floor any replica move is bounded by.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { applyFile, fetchStatus } from "../../src/cli/admin-client.js";
import type { ClusterStatus } from "../../src/cluster/cluster-status.js";
import { ProcessCluster } from "../../test/helpers/process-cluster.js";
import { RawClient } from "../../test/helpers/raw-client.js";
import type { BenchSection } from "../run.js";

const megabytes = Number(process.env.BENCH_REBALANCE_MB ?? 1024);
const valueBytes = 64 * 1024;
const writers = 8;
const pipeline = 8;

async function fill(cluster: ProcessCluster): Promise<number> {
  const count = Math.ceil((megabytes * 1024 * 1024) / valueBytes);
  const value = "v".repeat(valueBytes);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const node = cluster.nodes[writer % cluster.nodes.length]!;
      const client = await RawClient.connect(node.port, node.host);
      try {
        while (next < count) {
          const batch: string[] = [];
          while (batch.length < pipeline && next < count) batch.push(`fill:${next++}`);
          const request = batch
            .map((key) => `set ${key} 0 0 ${valueBytes}\r\n${value}\r\n`)
            .join("");
          const expected = "STORED\r\n".repeat(batch.length);
          const reply = await client.request(request, expected);
          if (!reply.endsWith(expected)) {
            throw new Error(`fill through ${node.id}: ${JSON.stringify(reply.slice(-300))}`);
          }
          client.discard();
        }
      } finally {
        client.close();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

function directoryBytes(path: string): number {
  return Number(execFileSync("du", ["-sb", path], { encoding: "utf8" }).split("\t")[0]);
}

const section: BenchSection = {
  name: "rebalance",
  description: `time to rebalance onto a new 4th node, ${megabytes} MB per node before`,
  async run() {
    const cluster = await ProcessCluster.start({ nodeCount: 3, groups: 16, replicationFactor: 3 });
    try {
      const [n1] = cluster.nodes;
      const fillSeconds = await fill(cluster);
      const before = directoryBytes(n1!.dataDir);
      const copyTarget = mkdtempSync(join(tmpdir(), "memraft-bench-copy-"));
      const copyStarted = performance.now();
      execFileSync("cp", ["-r", n1!.dataDir, copyTarget]);
      execFileSync("sync");
      const copySeconds = (performance.now() - copyStarted) / 1000;
      rmSync(copyTarget, { recursive: true, force: true });

      const n4 = await cluster.addNode();
      await cluster.startNode(n4.id);
      const started = performance.now();
      const applied = await applyFile(n1!, Buffer.from(cluster.configText()));
      if (!("version" in applied)) throw new Error(`apply refused: ${applied.problems}`);
      let status: ClusterStatus;
      for (;;) {
        status = (await fetchStatus(n1!)) as ClusterStatus;
        const rebalance = status.rebalance;
        if (rebalance?.configVersion === applied.version && rebalance.finishedAtMs !== null) break;
        if (performance.now() - started > 60 * 60_000)
          throw new Error("rebalance took over an hour");
        await delay(500);
      }
      const seconds = (performance.now() - started) / 1000;
      const received = directoryBytes(n4.dataDir);
      const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
      console.log("| figure | value |");
      console.log("|---|---|");
      console.log(
        `| data written (64 KiB values, replicated 3x) | ${megabytes} MB in ${fillSeconds.toFixed(1)} s (${(megabytes / fillSeconds).toFixed(1)} MB/s) |`,
      );
      console.log(`| one node's data directory before | ${mb(before)} MB |`);
      console.log(`| replica moves | ${status.rebalance!.done} |`);
      console.log(`| rebalance, apply to finished | ${seconds.toFixed(1)} s |`);
      console.log(
        `| new node's data directory after | ${mb(received)} MB (${(received / 2 ** 20 / seconds).toFixed(1)} MB/s) |`,
      );
      console.log(
        `| peer: cp -r of one node's data directory + sync | ${copySeconds.toFixed(1)} s (${(before / 2 ** 20 / copySeconds).toFixed(1)} MB/s) |`,
      );
      const counts = status.nodes.map((node) => `${node.id} ${node.replicas}`).join(", ");
      console.log(`| replicas per node after | ${counts} |`);
    } finally {
      await cluster.stop();
    }
  },
};

export default section;
