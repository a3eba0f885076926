// etcd as the peer of a replicated memraft cluster: three etcd members as
// separate processes on 127.0.0.1–3, each with its own data dir on the same
// disk, driven by etcd's own write check, `etcdctl check perf --load=xl`:
// 1,000 clients putting 256-byte keys with 1 KiB values for 60 s, paced at
// 15,000 writes/s, which is the check's pass mark.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePorts } from "../test/helpers/memcached-process.js";
import { findExecutable } from "../test/helpers/tools.js";
import { waitFor } from "../test/helpers/wait.js";
import { stopChildren } from "./children.js";
import { cpuMicrosPerOperation, reapedChildrenCpuSeconds, sampleCpu } from "./process-cpu.js";

const run = promisify(execFile);

/** The check's own settings (etcdctl's check.go), for the report. */
export const etcdCheck = {
  load: "xl",
  clients: 1000,
  seconds: 60,
  keyBytes: 256,
  valueBytes: 1024,
  paceWritesPerSecond: 15_000,
};

/** Whether etcd and etcdctl are installed; if not, says so, for the bench to skip etcd. */
export function etcdAvailable(): boolean {
  if (findExecutable("etcd") && findExecutable("etcdctl")) return true;
  console.log("etcd skipped: needs etcd and etcdctl (apt-get install etcd-server etcd-client)");
  return false;
}

export interface EtcdCheckResult {
  readonly writesPerSecond: number;
  readonly passed: boolean;
  /** etcdctl's lines about latency (slowest request, stddev). */
  readonly latencyLines: readonly string[];
  /** CPU per write of the three members, all threads. */
  readonly serverCpuMicros: number | undefined;
  /** CPU per write of etcdctl itself. */
  readonly clientCpuMicros: number | undefined;
}

export async function measureEtcdCluster(): Promise<EtcdCheckResult> {
  const root = mkdtempSync(join(tmpdir(), "memraft-bench-etcd-"));
  const members: { name: string; host: string; client: number; peer: number }[] = [];
  for (let i = 1; i <= 3; i++) {
    const host = `127.0.0.${i}`;
    const [client, peer] = (await freePorts(host, 2)) as [number, number];
    members.push({ name: `e${i}`, host, client, peer });
  }
  const initialCluster = members.map((m) => `${m.name}=http://${m.host}:${m.peer}`).join(",");
  const endpoints = members.map((m) => `http://${m.host}:${m.client}`).join(",");
  const children: ChildProcess[] = members.map((m) =>
    spawn(
      "etcd",
      [
        `--name=${m.name}`,
        `--data-dir=${join(root, m.name)}`,
        `--listen-client-urls=http://${m.host}:${m.client}`,
        `--advertise-client-urls=http://${m.host}:${m.client}`,
        `--listen-peer-urls=http://${m.host}:${m.peer}`,
        `--initial-advertise-peer-urls=http://${m.host}:${m.peer}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=memraft-bench",
      ],
      { stdio: "ignore" },
    ),
  );
  try {
    await waitFor(
      "etcd to take writes",
      async () => {
        try {
          await run("etcdctl", [`--endpoints=${endpoints}`, "put", "bench:ready", "1"]);
          return true;
        } catch {
          // Not elected yet: waitFor asks again.
          return false;
        }
      },
      30_000,
      200,
    );
    const pids = children.map((child) => child.pid!);
    const clientBefore = reapedChildrenCpuSeconds();
    const before = sampleCpu(pids);
    const output = await checkPerf(endpoints);
    const after = sampleCpu(pids);
    const clientAfter = reapedChildrenCpuSeconds();
    const throughput = /(PASS|FAIL): Throughput (?:is|too low:) (\d+) writes\/s/.exec(output);
    if (throughput === null) throw new Error(`unexpected etcdctl check perf output:\n${output}`);
    const writesPerSecond = Number(throughput[2]);
    const writes = writesPerSecond * etcdCheck.seconds;
    return {
      writesPerSecond,
      passed: /^PASS$/m.test(output),
      latencyLines: output.split("\n").filter((line) => /Slowest|Stddev/.test(line)),
      serverCpuMicros:
        before === undefined || after === undefined
          ? undefined
          : cpuMicrosPerOperation(before, after, writes).all,
      clientCpuMicros:
        clientBefore === undefined || clientAfter === undefined
          ? undefined
          : ((clientAfter - clientBefore) * 1e6) / writes,
    };
  } finally {
    await stopChildren(children);
    rmSync(root, { recursive: true, force: true });
  }
}

/** etcdctl's output; the check exits with status 1 when it fails, which is a result here. */
async function checkPerf(endpoints: string): Promise<string> {
  const args = [`--endpoints=${endpoints}`, "check", "perf", `--load=${etcdCheck.load}`];
  try {
    return (await run("etcdctl", args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (typeof stdout === "string" && /Throughput/.test(stdout)) return stdout;
    throw error;
  }
}
