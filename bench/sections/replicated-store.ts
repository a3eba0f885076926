// memraft durable: a single durable node and a 3-node cluster (each node its
// own process on 127.0.0.1–3, each with its own disk log), beside memcached
// 1.6, under memcaslap: 90% get / 10% set and 100% set, 16-byte keys,
// 100-byte values, 64 connections. The cluster's load enters through every
// node (memcaslap spreads its connections over the servers it is given), so
// followers forward to the leader, as clients of a real cluster would.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startMemcached } from "../../test/helpers/memcached-process.js";
import { findExecutable } from "../../test/helpers/tools.js";
import { waitForPort } from "../../test/helpers/wait.js";
import { drive, type LoadMix, type LoadResult } from "../memcaslap.js";
import type { BenchSection } from "../run.js";

const bin = join(process.cwd(), "bin", "memraft");

interface Target {
  readonly name: string;
  readonly servers: readonly string[];
  stop(): Promise<void>;
}

function spawnNode(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [bin, "start", ...args], { stdio: "ignore" });
}

function stopAll(children: readonly ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }),
    ),
  ).then(() => undefined);
}

async function singleNode(): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-bench-node-"));
  const port = await freePort();
  const child = spawnNode(["-p", String(port), "--data-dir", dataDir, "-m", "256"]);
  await waitForPort(port, 20_000);
  return {
    name: "memraft durable node",
    servers: [`127.0.0.1:${port}`],
    stop: async () => {
      await stopAll([child]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function cluster(): Promise<Target> {
  const root = mkdtempSync(join(tmpdir(), "memraft-bench-cluster-"));
  const nodes = [];
  for (let i = 1; i <= 3; i++) {
    const host = `127.0.0.${i}`;
    nodes.push({ id: `n${i}`, host, client: await freePort(host), peer: await freePort(host) });
  }
  const file = join(root, "cluster.yaml");
  writeFileSync(
    file,
    [
      "version: 1",
      "cluster:",
      "  replication_factor: 3",
      "nodes:",
      ...nodes.flatMap((node) => [
        `  - id: ${node.id}`,
        `    client: ${node.host}:${node.client}`,
        `    peer: ${node.host}:${node.peer}`,
        `    data_dir: ${join(root, node.id)}`,
      ]),
      "",
    ].join("\n"),
  );
  const children = nodes.map((node) =>
    spawnNode(["--config", file, "--node", node.id, "-m", "256"]),
  );
  for (const node of nodes) await waitForPort(node.client, 20_000, node.host);
  return {
    name: "memraft 3-node cluster",
    servers: nodes.map((node) => `${node.host}:${node.client}`),
    stop: async () => {
      await stopAll(children);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const mixes: readonly LoadMix[] = [
  { name: "90% get / 10% set", setShare: 0.1 },
  { name: "100% set", setShare: 1 },
];

const section: BenchSection = {
  name: "replicated-store",
  description: "durable memraft (one node; three nodes) vs memcached 1.6, memcaslap",
  async run() {
    if (!findExecutable("memcached") || !findExecutable("memcaslap")) {
      console.log(
        "skipped: needs memcached and memcaslap (apt-get install memcached libmemcached-tools)",
      );
      return;
    }
    const rows: { target: string; mix: string; result: LoadResult; ratio: number }[] = [];
    for (const mix of mixes) {
      const memcached = await startMemcached(["-m", "1024"]);
      let baseline: LoadResult;
      try {
        baseline = await drive([`127.0.0.1:${memcached.port}`], mix);
      } finally {
        await memcached.stop();
      }
      rows.push({
        target: "memcached 1.6 (4 threads, memory only)",
        mix: mix.name,
        result: baseline,
        ratio: 1,
      });
      for (const start of [singleNode, cluster]) {
        const target = await start();
        try {
          const result = await drive(target.servers, mix);
          rows.push({
            target: target.name,
            mix: mix.name,
            result,
            ratio: result.opsPerSecond / baseline.opsPerSecond,
          });
        } finally {
          await target.stop();
        }
      }
    }
    console.log("| server | load | ops/s | avg latency | p50 | p99 | ratio to memcached |");
    console.log("|---|---|---|---|---|---|---|");
    for (const { target, mix, result, ratio } of rows) {
      console.log(
        `| ${target} | ${mix} | ${result.opsPerSecond} | ${result.averageMicros} µs | ≤ ${result.p50Micros} µs | ≤ ${result.p99Micros} µs | ${ratio.toFixed(2)} |`,
      );
    }
  },
};

export default section;
