// A durable memraft node as a separate process on a data directory, for
// tests that kill it: either `memraft start` (the production limits) or a
// node with tiny memtable and log limits (test/cluster/fixtures/
// small-limits-node.ts), so that flushes, checkpoints and log truncations
// happen under a test's load.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./memcached-process.js";
import { waitFor, waitForPort } from "./wait.js";

export type NodeProcessKind = "memraft start" | "small limits";

export interface NodeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

export const memraftBin = join(process.cwd(), "bin", "memraft");
const smallLimitsNode = fileURLToPath(
  new URL("../cluster/fixtures/small-limits-node.js", import.meta.url),
);

/** Starts a node on `dataDir`; resolves once it serves clients. */
export async function startNodeProcess(
  kind: NodeProcessKind,
  dataDir: string,
): Promise<NodeProcess> {
  const port = kind === "memraft start" ? await freePort() : 0;
  const args =
    kind === "memraft start"
      ? [memraftBin, "start", "-p", String(port), "--data-dir", dataDir]
      : [smallLimitsNode, dataDir];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("latin1").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding("latin1").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    let served = port;
    if (kind === "small limits") {
      await waitFor("the node's port", () => exited() || /port \d+\n/.test(stdout), 15_000);
      served = Number(/port (\d+)\n/.exec(stdout)?.[1] ?? 0);
    }
    if (exited() || served === 0) throw new Error("exited");
    await waitForPort(served, 15_000);
    return { child, port: served, stderr: () => stderr };
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${kind} did not start on ${dataDir}: ${stderr}`, { cause: error });
  }
}

/** Resolves with the exit code once the child has exited (at once if it has). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return once(child, "exit").then(([code]) => code as number | null);
}
