// Drives memcached-protocol servers with libmemcached's memcaslap and reads
// its figures: ops/s, average latency, and p50/p99 from its log2 histogram.

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "../test/helpers/tools.js";
import { reapedChildrenCpuSeconds } from "./process-cpu.js";

const run = promisify(execFile);

/** Whether memcached and memcaslap are installed; if not, says so, for a section to skip itself. */
export function memcaslapAvailable(): boolean {
  if (findExecutable("memcached") && findExecutable("memcaslap")) return true;
  console.log(
    "skipped: needs memcached and memcaslap (apt-get install memcached libmemcached-tools)",
  );
  return false;
}

export const durationSeconds = Number(process.env.BENCH_SECONDS ?? 20);
/**
 * Load before a measured run: V8 is still compiling the server's hot code in
 * its first seconds (its compiler threads took a quarter of the CPU in the
 * first 10 s of a cluster under load), which is not the server's steady state.
 */
export const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
export const connections = 64;
export const loadThreads = 2;

export interface LoadMix {
  readonly name: string;
  /** Share of sets; the rest are gets. */
  readonly setShare: number;
  /** Key and value sizes; 16 and 100 bytes unless given. */
  readonly keyBytes?: number;
  readonly valueBytes?: number;
}

export interface LoadResult {
  /** Operations completed in the run. */
  readonly operations: number;
  readonly opsPerSecond: number;
  readonly averageMicros: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  /** CPU memcaslap itself spent per operation (it shares the machine's cores with the servers). */
  readonly clientCpuMicros: number | undefined;
}

export const readMostly: LoadMix = { name: "90% get / 10% set", setShare: 0.1 };

/** memcaslap's configuration: key and value sizes, then the get/set mix. */
function writeLoadConfig(mix: LoadMix): string {
  const keyBytes = mix.keyBytes ?? 16;
  const valueBytes = mix.valueBytes ?? 100;
  const path = join(
    tmpdir(),
    `memraft-bench-memcaslap-${mix.setShare}-${keyBytes}-${valueBytes}.cfg`,
  );
  const gets = 1 - mix.setShare;
  writeFileSync(
    path,
    `key\n${keyBytes} ${keyBytes} 1\nvalue\n${valueBytes} ${valueBytes} 1\ncmd\n0 ${mix.setShare}\n1 ${gets}\n`,
  );
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

/** Runs memcaslap against `servers` (host:port each) for `seconds` (the configured duration). */
export async function drive(
  servers: readonly string[],
  mix: LoadMix,
  seconds = durationSeconds,
): Promise<LoadResult> {
  // memcaslap wants a thread per server at least, and connections a multiple of threads.
  const threads = Math.max(loadThreads, servers.length);
  const clientCpuBefore = reapedChildrenCpuSeconds();
  const { stdout } = await run(
    "memcaslap",
    [
      "-s",
      servers.join(","),
      "-F",
      writeLoadConfig(mix),
      "-T",
      String(threads),
      "-c",
      String(Math.ceil(connections / threads) * threads),
      "-t",
      `${seconds}s`,
      "-S",
      `${seconds}s`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const clientCpuAfter = reapedChildrenCpuSeconds();
  const tps = /Run time: [\d.]+s Ops: (\d+) TPS: (\d+)/.exec(stdout);
  const average = /Total Statistics \(\d+ events\)\s+Min:\s+\d+\s+Max:\s+\d+\s+Avg:\s+(\d+)/.exec(
    stdout,
  );
  if (tps === null || average === null) throw new Error(`unexpected memcaslap output:\n${stdout}`);
  const operations = Number(tps[1]);
  return {
    operations,
    opsPerSecond: Number(tps[2]),
    averageMicros: Number(average[1]),
    p50Micros: percentileFromLog2(stdout, 0.5),
    p99Micros: percentileFromLog2(stdout, 0.99),
    clientCpuMicros:
      clientCpuBefore === undefined || clientCpuAfter === undefined
        ? undefined
        : ((clientCpuAfter - clientCpuBefore) * 1e6) / operations,
  };
}
