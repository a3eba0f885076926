// memraft's in-memory server beside memcached 1.6 under the same load:
// libmemcached's memcaslap, 90% get / 10% set, 16-byte keys, 100-byte
// values, 64 connections, a fixed duration. The two servers run one after
// the other, twice each, interleaved, so that drift on a shared machine hits
// both; the figures are the means.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, startMemcached } from "../../test/helpers/memcached-process.js";
import { findExecutable } from "../../test/helpers/tools.js";
import { waitForPort } from "../../test/helpers/wait.js";
import type { BenchSection } from "../run.js";

const run = promisify(execFile);
const durationSeconds = Number(process.env.BENCH_SECONDS ?? 20);
const connections = 64;
const loadThreads = 2;
const rounds = 2;

interface LoadResult {
  readonly opsPerSecond: number;
  readonly averageMicros: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
}

/** memcaslap's configuration: key and value sizes, then the get/set mix. */
function writeLoadConfig(): string {
  const path = join(tmpdir(), "memraft-bench-memcaslap.cfg");
  writeFileSync(path, "key\n16 16 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n");
  return path;
}

/**
 * Percentiles from memcaslap's log2 histogram of the whole run: row
 * `N: a b c d` counts latencies up to 2^N, 2^(N+1), 2^(N+2), 2^(N+3) µs,
 * each above the bucket before it. A percentile is reported as the upper
 * bound of its bucket.
 */
function percentileFromLog2(output: string, fraction: number): number {
  const total = output.slice(output.lastIndexOf("Total Statistics ("));
  const buckets: [number, number][] = [];
  for (const match of total.matchAll(/^\s+(\d+):((?:\s+\d+)+)$/gm)) {
    const base = Number(match[1]);
    match[2]!
      .trim()
      .split(/\s+/)
      .forEach((count, offset) => {
        buckets.push([2 ** (base + offset), Number(count)]);
      });
  }
  const count = buckets.reduce((sum, [, n]) => sum + n, 0);
  let seen = 0;
  for (const [upper, n] of buckets) {
    seen += n;
    if (seen >= fraction * count) return upper;
  }
  return Number.NaN;
}

async function drive(port: number, config: string): Promise<LoadResult> {
  const { stdout } = await run(
    "memcaslap",
    [
      "-s",
      `127.0.0.1:${port}`,
      "-F",
      config,
      "-T",
      String(loadThreads),
      "-c",
      String(connections),
      "-t",
      `${durationSeconds}s`,
      "-S",
      `${durationSeconds}s`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = /Run time: [\d.]+s Ops: \d+ TPS: (\d+)/.exec(stdout);
  const average = /Total Statistics \(\d+ events\)\s+Min:\s+\d+\s+Max:\s+\d+\s+Avg:\s+(\d+)/.exec(
    stdout,
  );
  if (tps === null || average === null) throw new Error(`unexpected memcaslap output:\n${stdout}`);
  return {
    opsPerSecond: Number(tps[1]),
    averageMicros: Number(average[1]),
    p50Micros: percentileFromLog2(stdout, 0.5),
    p99Micros: percentileFromLog2(stdout, 0.99),
  };
}

async function startMemraftProcess(port: number): Promise<ChildProcess> {
  const bin = join(process.cwd(), "bin", "memraft");
  const child = spawn(process.execPath, [bin, "start", "-p", String(port), "-m", "1024"], {
    stdio: "ignore",
  });
  await waitForPort(port, 10_000);
  return child;
}

function mean(results: readonly LoadResult[], field: keyof LoadResult): number {
  return results.reduce((sum, result) => sum + result[field], 0) / results.length;
}

const section: BenchSection = {
  name: "memcached-protocol",
  description: "memraft (in-memory engine) vs memcached 1.6, memcaslap 90/10 get/set",
  async run() {
    if (!findExecutable("memcached") || !findExecutable("memcaslap")) {
      console.log(
        "skipped: needs memcached and memcaslap (apt-get install memcached libmemcached-tools)",
      );
      return;
    }
    const config = writeLoadConfig();
    const memcached = await startMemcached(["-m", "1024"]);
    const memraftPort = await freePort();
    const memraft = await startMemraftProcess(memraftPort);
    const theirs: LoadResult[] = [];
    const ours: LoadResult[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        theirs.push(await drive(memcached.port, config));
        ours.push(await drive(memraftPort, config));
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
