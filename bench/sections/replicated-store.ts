// memraft durable: a single durable node and 3-node clusters with 1 and
// with 16 groups (each node its own process on 127.0.0.1–3, each with its
// own disk log), beside memcached 1.6, under memcaslap: 90% get / 10% set
// and 100% set, 16-byte keys, 100-byte values, 64 connections; and 100% set
// with 250-byte keys and 1 KiB values, the nearest memcached allows to the
// payload of etcd's write check. A cluster's load enters through every node
// (memcaslap spreads its connections over the servers it is given), so nodes
// pass commands to the groups' leaders, as clients of a real cluster would.
// Then etcd, three members on 127.0.0.1–3, under its own write check
// (etcd-peer.ts), as the peer for durable replicated writes.
//
// Each row also gives the CPU the servers and memcaslap spent per operation:
// every process shares the machine's cores, so a server's ceiling here is
// the cores divided by the sum of the two.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, freePorts, startMemcached } from "../../test/helpers/memcached-process.js";
import { RawClient } from "../../test/helpers/raw-client.js";
import { waitFor, waitForPort } from "../../test/helpers/wait.js";
import { stopChildren } from "../children.js";
import { etcdAvailable, etcdCheck, measureEtcdCluster } from "../etcd-peer.js";
import {
  drive,
  type LoadMix,
  type LoadResult,
  memcaslapAvailable,
  warmupSeconds,
} from "../memcaslap.js";
import { type CpuSample, cpuMicrosPerOperation, sampleCpu } from "../process-cpu.js";
import type { BenchSection } from "../run.js";

const bin = join(process.cwd(), "bin", "memraft");

interface Target {
  readonly name: string;
  readonly servers: readonly string[];
  /** The server processes, for their CPU time. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/** BENCH_NODE_ARGS passes Node options to every memraft process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p". */
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter((arg) => arg !== "") ?? [];

function spawnNode(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, bin, "start", ...args], { stdio: "ignore" });
}

async function singleNode(): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-bench-node-"));
  const port = await freePort();
  const child = spawnNode(["-p", String(port), "--data-dir", dataDir, "-m", "256"]);
  await takesWrites("127.0.0.1", port);
  return {
    name: "memraft durable node (16 groups)",
    servers: [`127.0.0.1:${port}`],
    pids: [child.pid!],
    stop: async () => {
      await stopChildren([child]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until a node takes writes (a new cluster's nodes first find each other). */
async function takesWrites(host: string, port: number): Promise<void> {
  await waitForPort(port, 20_000, host);
  await waitFor(
    `${host}:${port} to take writes`,
    async () => {
      const client = await RawClient.connect(port, host);
      try {
        return (await client.request("set bench:ready 0 0 1\r\n1\r\n")) === "STORED\r\n";
      } finally {
        client.close();
      }
    },
    30_000,
    200,
  );
}

async function cluster(groups: number): Promise<Target> {
  const root = mkdtempSync(join(tmpdir(), "memraft-bench-cluster-"));
  const nodes = [];
  for (let i = 1; i <= 3; i++) {
    const host = `127.0.0.${i}`;
    const [client, peer] = (await freePorts(host, 2)) as [number, number];
    nodes.push({ id: `n${i}`, host, client, peer });
  }
  const file = join(root, "cluster.yaml");
  writeFileSync(
    file,
    [
      "version: 1",
      "cluster:",
      `  groups: ${groups}`,
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
  for (const node of nodes) await takesWrites(node.host, node.client);
  return {
    name: `memraft 3-node cluster, ${groups} group${groups === 1 ? "" : "s"}`,
    servers: nodes.map((node) => `${node.host}:${node.client}`),
    pids: children.map((child) => child.pid!),
    stop: async () => {
      await stopChildren(children);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

interface Measured {
  readonly result: LoadResult;
  /** CPU per operation of the server processes, all their threads and their main threads. */
  readonly cpu: CpuSample | undefined;
}

async function measure(
  servers: readonly string[],
  pids: readonly number[],
  mix: LoadMix,
): Promise<Measured> {
  if (warmupSeconds > 0) await drive(servers, mix, warmupSeconds);
  const before = sampleCpu(pids);
  const result = await drive(servers, mix);
  const after = sampleCpu(pids);
  const cpu =
    before === undefined || after === undefined
      ? undefined
      : cpuMicrosPerOperation(before, after, result.operations);
  return { result, cpu };
}

const mixes: readonly (LoadMix & { readonly id: string })[] = [
  { id: "90-10", name: "90% get / 10% set", setShare: 0.1 },
  { id: "set", name: "100% set", setShare: 1 },
  {
    id: "set-1k",
    name: "100% set, 250-byte keys, 1 KiB values",
    setShare: 1,
    keyBytes: 250,
    valueBytes: 1024,
  },
];

const targets = [
  { id: "node", start: singleNode },
  { id: "cluster-1", start: () => cluster(1) },
  { id: "cluster-16", start: () => cluster(16) },
];

/** BENCH_TARGETS=node,cluster-1,cluster-16,etcd and BENCH_MIXES=90-10,set,set-1k pick a part of the section. */
function chosen<T extends { readonly id: string }>(all: readonly T[], variable: string): T[] {
  const wanted = process.env[variable]?.split(",");
  return wanted === undefined ? [...all] : all.filter((item) => wanted.includes(item.id));
}

function micros(value: number | undefined): string {
  return value === undefined ? "-" : value.toFixed(0);
}

const section: BenchSection = {
  name: "replicated-store",
  description:
    "durable memraft (one node; three nodes with 1 and with 16 groups) vs memcached 1.6 (memcaslap) and a 3-member etcd (etcdctl check perf)",
  async run() {
    if (!memcaslapAvailable()) return;
    const rows: {
      target: string;
      mix: string;
      result: LoadResult;
      ratio: number;
      cpu: CpuSample | undefined;
    }[] = [];
    for (const mix of chosen(mixes, "BENCH_MIXES")) {
      const memcached = await startMemcached(["-m", "1024"]);
      let baseline: Measured;
      try {
        baseline = await measure([`127.0.0.1:${memcached.port}`], [memcached.pid], mix);
      } finally {
        await memcached.stop();
      }
      rows.push({
        target: "memcached 1.6 (4 threads, memory only)",
        mix: mix.name,
        ...baseline,
        ratio: 1,
      });
      for (const { start } of chosen(targets, "BENCH_TARGETS")) {
        const target = await start();
        try {
          const measured = await measure(target.servers, target.pids, mix);
          rows.push({
            target: target.name,
            mix: mix.name,
            ...measured,
            ratio: measured.result.opsPerSecond / baseline.result.opsPerSecond,
          });
        } finally {
          await target.stop();
        }
      }
    }
    console.log(
      "| server | load | ops/s | avg latency | p50 | p99 | ratio to memcached | server CPU µs/op (main threads) | memcaslap CPU µs/op |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const { target, mix, result, ratio, cpu } of rows) {
      const perOperation =
        cpu === undefined ? "-" : `${cpu.all.toFixed(0)} (${cpu.main.toFixed(0)})`;
      console.log(
        `| ${target} | ${mix} | ${result.opsPerSecond} | ${result.averageMicros} µs | ≤ ${result.p50Micros} µs | ≤ ${result.p99Micros} µs | ${ratio.toFixed(2)} | ${perOperation} | ${micros(result.clientCpuMicros)} |`,
      );
    }
    if (chosen([{ id: "etcd" }], "BENCH_TARGETS").length > 0 && etcdAvailable()) {
      const etcd = await measureEtcdCluster();
      const { load, clients, seconds, keyBytes, valueBytes, paceWritesPerSecond } = etcdCheck;
      console.log(
        `\netcd 3-member cluster, \`etcdctl check perf --load=${load}\` (${clients} clients, ${keyBytes}-byte keys, ${valueBytes}-byte values, ${seconds} s, paced at ${paceWritesPerSecond} writes/s):\n`,
      );
      console.log("| server | writes/s | check | server CPU µs/write | etcdctl CPU µs/write |");
      console.log("|---|---|---|---|---|");
      console.log(
        `| etcd 3 members | ${etcd.writesPerSecond} | ${etcd.passed ? "PASS" : "FAIL"} (${etcd.latencyLines.join("; ")}) | ${micros(etcd.serverCpuMicros)} | ${micros(etcd.clientCpuMicros)} |`,
      );
    }
  },
};

export default section;
