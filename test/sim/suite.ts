// Random cluster simulations, split into shards so that ava runs them in
// parallel: `npm test` runs 4 x 500 seeds from a drawn base (MEMRAFT_LONG=1:
// 4 x 5,000 runs three times longer). SEED=<n> replays one seed exactly and
// prints its report; SEED_BASE=<n> fixes the base.

import test from "ava";
import { simulate } from "./simulator.js";

export const shardCount = 4;

export function registerSimulationShard(shard: number): void {
  const long = process.env["MEMRAFT_LONG"] === "1";
  const seedCount = long ? 5000 : 500;
  const scale = long ? 3 : 1;
  const replay = process.env["SEED"];
  if (replay !== undefined) {
    if (shard === 0) {
      test(`seed ${replay} replays`, (t) => {
        const result = simulate(Number(replay), scale);
        t.log(result.report);
        t.true(result.ok);
      });
    } else {
      test("replaying a seed runs in shard 0 only", (t) => t.pass());
    }
    return;
  }
  const base =
    Number(process.env["SEED_BASE"] ?? Math.floor(Math.random() * 0x3fff_ffff)) + shard * seedCount;
  test(`${seedCount} random seeds keep every invariant, converge and stay linearizable`, (t) => {
    t.timeout(long ? 28 * 60_000 : 115_000);
    t.log(`seeds ${base}..${base + seedCount - 1}`);
    const failures: string[] = [];
    let operations = 0;
    let quietTicks = 0;
    let detectorWakes = 0;
    for (let seed = base; seed < base + seedCount && failures.length < 3; seed++) {
      const result = simulate(seed, scale);
      operations += result.operations;
      quietTicks += result.quietTicks;
      detectorWakes += result.detectorWakes;
      if (!result.ok)
        failures.push(
          `${result.report}\nreplay: SEED=${seed} npx ava dist/test/sim/simulator-1.test.js`,
        );
    }
    t.log(
      `${seedCount} seeds, ${operations} client operations checked; ` +
        `${quietTicks} member-ticks quiet, ${detectorWakes} wakes by the failure detector`,
    );
    t.deepEqual(failures, []);
    t.true(quietTicks > 0 && detectorWakes > 0, "idle groups went quiet and were woken");
  });
}
