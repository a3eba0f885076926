// Idle groups: 3 nodes, each its own process on 127.0.0.1, .2 and .3 (TCP,
// real disk logs), hosting the same 256 three-voter groups, each led by one
// of them, with nothing proposed. Measures what idleness costs each node per
// second: CPU, bytes and socket writes sent, Ready cycles, and (when strace
// is installed) the system calls of node 1. Three runs: groups that go quiet
// when idle (the default), groups kept awake with heartbeats coalesced into
// one frame per peer and pass, and awake with one message per heartbeat.
//
// BENCH_IDLE_GROUPS, BENCH_IDLE_SECONDS and BENCH_IDLE_TICK_MS change the
// defaults (256 groups, 10 s, the cluster's 50 ms tick).

import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/helpers/memcached-process.js";
import type { IdleSample } from "../raft-idle-node.js";
import type { BenchSection } from "../run.js";

const groupCount = Number(process.env.BENCH_IDLE_GROUPS ?? 256);
const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const tickMs = Number(process.env.BENCH_IDLE_TICK_MS ?? 50);
const nodeScript = join(dirname(fileURLToPath(import.meta.url)), "..", "raft-idle-node.js");

function request(child: ChildProcess, what: string): Promise<IdleSample> {
  return new Promise((resolve) => {
    child.once("message", (message) => resolve(message as IdleSample));
    child.send(what);
  });
}

function waitFor(child: ChildProcess, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("message", (message) =>
      message === expected ? resolve() : reject(new Error(`idle bench: got ${String(message)}`)),
    );
    child.once("exit", (code) => reject(new Error(`idle bench: node exited with ${code}`)));
  });
}

/** Counts node 1's system calls over the window with strace -c, if strace is there. */
function traceSyscalls(
  pid: number,
  directory: string,
): (() => Promise<number | undefined>) | undefined {
  if (spawnSync("strace", ["-V"]).status !== 0) return undefined;
  const output = join(directory, "strace.txt");
  const tracer = spawn("strace", ["-c", "-f", "-o", output, "-p", String(pid)], {
    stdio: "ignore",
  });
  return async () => {
    const exited = new Promise((resolve) => tracer.once("exit", resolve));
    tracer.kill("SIGINT");
    await exited;
    const total = /\n\s*100\.00\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total/.exec(
      readFileSync(output, "utf8"),
    );
    return total === null ? undefined : Number(total[1]);
  };
}

interface IdleRun {
  readonly name: string;
  readonly coalesce: boolean;
  readonly quiesce: boolean;
}

async function run({ name, coalesce, quiesce }: IdleRun): Promise<void> {
  const ports = await Promise.all([1, 2, 3].map((id) => freePort(`127.0.0.${id}`)));
  const directory = mkdtempSync(join(tmpdir(), "memraft-idle-bench-"));
  const children = [1, 2, 3].map((id) =>
    fork(
      nodeScript,
      [id, ports.join(","), groupCount, coalesce ? 1 : 0, quiesce ? 1 : 0, tickMs, directory].map(
        String,
      ),
      { stdio: ["ignore", "inherit", "inherit", "ipc"] },
    ),
  );
  try {
    await Promise.all(children.map((child) => waitFor(child, "started")));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const samples = await Promise.all(children.map((child) => request(child, "sample")));
      if (samples.reduce((sum, s) => sum + s.leading, 0) === groupCount) break;
      if (Date.now() > deadline) throw new Error("idle bench: not every group elected in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Let elections settle into steady heartbeats.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stopTrace = traceSyscalls(children[0]!.pid!, directory);
    const before = await Promise.all(children.map((child) => request(child, "sample")));
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await Promise.all(children.map((child) => request(child, "sample")));
    const syscalls = await stopTrace?.();
    console.log(`${name}:`);
    console.log(
      "| node | leads | quiet | detector wakes | CPU % | bytes sent/s | socket writes/s | frames/s | Readies/s | syscalls/s |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    after.forEach((end, i) => {
      const start = before[i]!;
      const rate = (field: keyof IdleSample) => Math.round((end[field] - start[field]) / seconds);
      const cpu = ((end.cpuMicros - start.cpuMicros) / (seconds * 10_000)).toFixed(1);
      const traced =
        i === 0 && syscalls !== undefined ? String(Math.round(syscalls / seconds)) : "-";
      console.log(
        `| ${i + 1} | ${end.leading} | ${end.quiet} | ${end.detectorWakes - start.detectorWakes} | ${cpu} | ${rate("sentBytes")} | ${rate("socketWrites")} | ${rate("frames")} | ${rate("readies")} | ${traced} |`,
      );
    });
    console.log("");
  } finally {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            child.once("exit", resolve);
            child.send("stop");
          }),
      ),
    );
    rmSync(directory, { recursive: true, force: true });
  }
}

const section: BenchSection = {
  name: "raft-idle",
  description: `${groupCount} idle 3-voter groups on 3 node processes (TCP on 127.0.0.1-3), tick ${tickMs} ms, heartbeat every 2 ticks, ${seconds} s`,
  async run() {
    await run({ name: "quiet when idle (default)", coalesce: true, quiesce: true });
    await run({ name: "kept awake, heartbeats coalesced", coalesce: true, quiesce: false });
    await run({ name: "kept awake, one message per heartbeat", coalesce: false, quiesce: false });
  },
};

export default section;
