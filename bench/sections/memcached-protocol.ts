// memraft's in-memory server beside memcached 1.6 under the same load:
// libmemcached's memcaslap, 90% get / 10% set, 16-byte keys, 100-byte
// values, 64 connections, a fixed duration. The two servers run one after
// the other, twice each, interleaved, so that drift on a shared machine hits
// both; the figures are the means.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort, startMemcached } from "../../test/helpers/memcached-process.js";
import { waitForPort } from "../../test/helpers/wait.js";
import {
  connections,
  drive,
  durationSeconds,
  type LoadResult,
  loadThreads,
  memcaslapAvailable,
  readMostly,
} from "../memcaslap.js";
import type { BenchSection } from "../run.js";

const rounds = 2;

async function startMemraftProcess(port: number): Promise<ChildProcess> {
  const bin = join(process.cwd(), "bin", "memraft");
  const child = spawn(
    process.execPath,
    [bin, "start", "--in-memory", "-p", String(port), "-m", "1024"],
    {
      stdio: "ignore",
    },
  );
  await waitForPort(port, 10_000);
  return child;
}

function mean(results: readonly LoadResult[], field: "opsPerSecond" | "averageMicros"): number {
  return results.reduce((sum, result) => sum + result[field], 0) / results.length;
}

const section: BenchSection = {
  name: "memcached-protocol",
  description: "memraft (in-memory engine) vs memcached 1.6, memcaslap 90/10 get/set",
  async run() {
    if (!memcaslapAvailable()) return;
    const memcached = await startMemcached(["-m", "1024"]);
    const memraftPort = await freePort();
    const memraft = await startMemraftProcess(memraftPort);
    const theirs: LoadResult[] = [];
    const ours: LoadResult[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        theirs.push(await drive([`127.0.0.1:${memcached.port}`], readMostly));
        ours.push(await drive([`127.0.0.1:${memraftPort}`], readMostly));
      }
    } finally {
      await memcached.stop();
      memraft.kill("SIGTERM");
    }
    console.log(
      `memcaslap -T ${loadThreads} -c ${connections} -t ${durationSeconds}s, 16 B keys, 100 B values, 90% get; ${rounds} interleaved runs each, means:\n`,
    );
    console.log("| server | ops/s | avg latency | p50 | p99 |");
    console.log("|---|---|---|---|---|");
    for (const [name, results] of [
      ["memcached 1.6 (4 threads)", theirs],
      ["memraft (memory engine)", ours],
    ] as const) {
      const worst = (field: "p50Micros" | "p99Micros") =>
        Math.max(...results.map((result) => result[field]));
      console.log(
        `| ${name} | ${Math.round(mean(results, "opsPerSecond"))} | ${Math.round(mean(results, "averageMicros"))} µs | ≤ ${worst("p50Micros")} µs | ≤ ${worst("p99Micros")} µs |`,
      );
    }
    const ratio = mean(ours, "opsPerSecond") / mean(theirs, "opsPerSecond");
    console.log(`\nratio memraft / memcached (ops/s): ${ratio.toFixed(2)}`);
  },
};

export default section;
