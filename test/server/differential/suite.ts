// Registers the differential suite against one kind of memraft server: every
// script goes to a real memcached 1.6 and to memraft, and the replies must
// agree.

import test from "ava";
import type { Endpoint } from "../../helpers/kv-client.js";
import {
  memcachedAvailable,
  type RunningMemcached,
  startMemcached,
} from "../../helpers/memcached-process.js";
import { compareReplies, runScript } from "./harness.js";
import { scripts } from "./scripts.js";

export interface Target {
  /** The memraft port every script is sent to, on 127.0.0.1 (unless `entryPoints`). */
  readonly port: number;
  /** Script number i goes to entryPoints[i % length] (the nodes of a cluster). */
  readonly entryPoints?: readonly Endpoint[];
  stop(): Promise<void>;
}

export function registerDifferentialSuite(label: string, startTarget: () => Promise<Target>): void {
  const memcached = memcachedAvailable();
  let oracle: RunningMemcached | undefined;
  let target: Target | undefined;

  test.before(async () => {
    if (!memcached.available) return;
    oracle = await startMemcached();
    target = await startTarget();
  });

  test.after.always(async () => {
    await oracle?.stop();
    await target?.stop();
  });

  if (!memcached.available)
    test.skip(`differential suite (${label}): ${memcached.reason}`, () => {});

  for (const [index, script] of scripts.entries()) {
    const run = memcached.available ? test.serial : test.serial.skip;
    run(`same reply as memcached (${label}): ${script.name}`, async (t) => {
      const expected = await runScript(oracle!.port, script);
      const entryPoints = target!.entryPoints;
      const entry = entryPoints?.[index % entryPoints.length] ?? {
        host: "127.0.0.1",
        port: target!.port,
      };
      const actual = await runScript(entry.port, script, entry.host);
      const difference = compareReplies(expected, actual);
      t.is(difference, undefined, difference);
    });
  }
}
