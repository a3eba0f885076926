// External programs the compatibility tests run (memcached, clients). On a
// developer machine a missing program skips its tests with a clear message;
// in CI (CI=true) it fails them, because .ci/run installs every one.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface ToolCheck {
  readonly available: boolean;
  readonly reason: string;
}

/** Finds an executable on PATH or at an absolute path. */
export function findExecutable(name: string): string | undefined {
  if (name.startsWith("/")) return existsSync(name) ? name : undefined;
  try {
    return (
      execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Whether tests needing `what` can run; `probe` returns an error text or undefined. */
export function checkTool(what: string, probe: () => string | undefined): ToolCheck {
  const problem = probe();
  if (problem === undefined) return { available: true, reason: "" };
  const reason = `${what} is not available (${problem}); install it as .ci/run does`;
  if (process.env.CI === "true") throw new Error(`${reason} — required in CI`);
  return { available: false, reason };
}

export const debianPython = "/usr/bin/python3";
