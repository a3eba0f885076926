// Registers the differential suite against one kind of memraft server: every
// script goes to a real memcached 1.6 and to memraft, and the replies must
// agree.

import test from "ava";
import {
  memcachedAvailable,
  type RunningMemcached,
  startMemcached,
} from "../../helpers/memcached-process.js";
import { compareReplies, runScript } from "./harness.js";
import { scripts } from "./scripts.js";

export interface Target {
  /** The memraft port every script is sent to. */
  readonly port: number;
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

  for (const script of scripts) {
    const run = memcached.available ? test.serial : test.serial.skip;
    run(`same reply as memcached (${label}): ${script.name}`, async (t) => {
      const expected = await runScript(oracle!.port, script);
      const actual = await runScript(target!.port, script);
      const difference = compareReplies(expected, actual);
      t.is(difference, undefined, difference);
    });
  }
}
