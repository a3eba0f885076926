// The differential suite: every script in differential/scripts.ts goes to a
// real memcached 1.6 and to memraft, and the replies must agree.

import test from "ava";
import {
  memcachedAvailable,
  type RunningMemcached,
  startMemcached,
} from "../helpers/memcached-process.js";
import { startMemraft, type TestServer } from "../helpers/memraft-server.js";
import { compareReplies, runScript } from "./differential/harness.js";
import { scripts } from "./differential/scripts.js";

const memcached = memcachedAvailable();
let oracle: RunningMemcached | undefined;
let memraft: TestServer | undefined;

test.before(async () => {
  if (!memcached.available) return;
  oracle = await startMemcached();
  memraft = await startMemraft();
});

test.after.always(async () => {
  await oracle?.stop();
  await memraft?.stop();
});

if (!memcached.available) {
  test.skip(`differential suite: ${memcached.reason}`, () => {});
}

for (const script of scripts) {
  const run = memcached.available ? test.serial : test.serial.skip;
  run(`same reply as memcached: ${script.name}`, async (t) => {
    const expected = await runScript(oracle!.port, script);
    const actual = await runScript(memraft!.port, script);
    const difference = compareReplies(expected, actual);
    t.is(difference, undefined, difference);
  });
}

test("the differential suite has at least 150 scripts", (t) => {
  t.true(scripts.length >= 150, `${scripts.length} scripts`);
  t.is(
    new Set(scripts.map((script) => script.name)).size,
    scripts.length,
    "script names are unique",
  );
});
