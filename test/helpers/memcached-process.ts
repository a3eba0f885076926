// A real memcached 1.6 started for a test, on a free loopback port: the
// oracle of the differential tests.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { checkTool, findExecutable, type ToolCheck } from "./tools.js";
import { waitForPort } from "./wait.js";

export function memcachedAvailable(): ToolCheck {
  return checkTool("memcached", () => (findExecutable("memcached") ? undefined : "not on PATH"));
}

/**
 * `count` distinct free ports: each listener stays open until all are
 * taken, as the kernel may hand a just-closed port out again at once.
 */
export async function freePorts(host: string, count: number): Promise<number[]> {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address !== "object") throw new Error("no port");
      return address.port;
    });
  } finally {
    await Promise.all(
      servers.map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))),
    );
  }
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(host, 1);
  return port!;
}

export interface RunningMemcached {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startMemcached(extraArgs: readonly string[] = []): Promise<RunningMemcached> {
  const port = await freePort();
  const args = ["-l", "127.0.0.1", "-p", String(port), "-U", "0", ...extraArgs];
  if (process.getuid?.() === 0) args.push("-u", "root");
  const child: ChildProcess = spawn("memcached", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await waitForPort(port, 5000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`memcached did not start: ${stderr}`, { cause: error });
  }
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
