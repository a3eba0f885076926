// Random cluster simulations: `npm test` runs 500 seeds from a drawn base
// (MEMRAFT_LONG=1: 5,000 longer ones). SEED=<n> replays one seed exactly and
// prints its report; SEED_BASE=<n> fixes the base.

import test from "ava";
import { simulate } from "./simulator.js";

const long = process.env["MEMRAFT_LONG"] === "1";
const seedCount = long ? 5000 : 500;
const scale = long ? 3 : 1;

const replay = process.env["SEED"];
if (replay !== undefined) {
  test(`seed ${replay} replays`, (t) => {
    const result = simulate(Number(replay), scale);
    t.log(result.report);
    t.true(result.ok);
  });
} else {
  const base = Number(process.env["SEED_BASE"] ?? Math.floor(Math.random() * 0x7fff_ffff));
  test(`${seedCount} random seeds keep every invariant, converge and stay linearizable`, (t) => {
    t.timeout(long ? 25 * 60_000 : 110_000);
    t.log(`SEED_BASE=${base}`);
    const failures: string[] = [];
    let operations = 0;
    for (let seed = base; seed < base + seedCount && failures.length < 3; seed++) {
      const result = simulate(seed >>> 0, scale);
      operations += result.operations;
      if (!result.ok)
        failures.push(
          `${result.report}\nreplay: SEED=${seed >>> 0} npx ava dist/test/sim/simulator.test.js`,
        );
    }
    t.log(`${seedCount} seeds, ${operations} client operations checked`);
    t.deepEqual(failures, []);
  });
}
