// How far Node can serve memcached clients on this machine before any of
// memraft's work: memcached 1.6 beside a stand-in server
// (bench/front-end-stand-in.ts) in one process, and with 1, 2 and 3 worker
// processes in front of a store process, under memcaslap 90/10. It bounds
// what a single durable node can reach in one process, and measures the
// multi-process shape before memraft is built that way.

import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startMemcached } from "../../test/helpers/memcached-process.js";
import { waitForPort } from "../../test/helpers/wait.js";
import {
  drive,
  durationSeconds,
  memcaslapAvailable,
  readMostly,
  warmupSeconds,
} from "../memcaslap.js";
import type { BenchSection } from "../run.js";

const standIn = join(dirname(fileURLToPath(import.meta.url)), "..", "front-end-stand-in.js");

async function startStandIn(workers: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [standIn, "--port", String(port), "--workers", String(workers)],
    { stdio: "ignore" },
  );
  await waitForPort(port, 10_000);
  return { port, child };
}

const section: BenchSection = {
  name: "front-end",
  description:
    "memcached 1.6 vs a Node stand-in server (no memraft) in one process and behind 1-3 worker processes, memcaslap 90/10",
  async run() {
    if (!memcaslapAvailable()) return;
    console.log(
      `memcaslap 90% get, 16 B keys, 100 B values, ${durationSeconds} s per target after ${warmupSeconds} s of warm-up\n`,
    );
    console.log("| server | ops/s | p50 | p99 | ratio to memcached |");
    console.log("|---|---|---|---|---|");
    const memcached = await startMemcached(["-m", "1024"]);
    let theirs = 0;
    try {
      await drive([`127.0.0.1:${memcached.port}`], readMostly, warmupSeconds);
      const result = await drive([`127.0.0.1:${memcached.port}`], readMostly);
      theirs = result.opsPerSecond;
      console.log(
        `| memcached 1.6 (4 threads) | ${theirs} | ≤ ${result.p50Micros} µs | ≤ ${result.p99Micros} µs | 1.00 |`,
      );
    } finally {
      await memcached.stop();
    }
    for (const workers of [0, 1, 2, 3]) {
      const { port, child } = await startStandIn(workers);
      try {
        await drive([`127.0.0.1:${port}`], readMostly, warmupSeconds);
        const result = await drive([`127.0.0.1:${port}`], readMostly);
        const name =
          workers === 0
            ? "stand-in, one process"
            : `stand-in, ${workers} worker process${workers > 1 ? "es" : ""} + a store process`;
        console.log(
          `| ${name} | ${result.opsPerSecond} | ≤ ${result.p50Micros} µs | ≤ ${result.p99Micros} µs | ${(result.opsPerSecond / theirs).toFixed(2)} |`,
        );
      } finally {
        child.kill("SIGTERM");
      }
    }
  },
};

export default section;
