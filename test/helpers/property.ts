// fast-check settings shared by property tests: `SEED=<n>` replays a failing
// run (fast-check prints the seed and path of every failure), and
// `MEMRAFT_LONG=1` (npm run test:long) multiplies the number of runs.

import fc from "fast-check";

const seed = process.env.SEED === undefined ? undefined : Number(process.env.SEED);
if (seed !== undefined) fc.configureGlobal({ seed });

const longFactor = process.env.MEMRAFT_LONG === "1" ? 20 : 1;

/** Runs for a property: `base` in npm test, more under test:long. */
export function runs(base: number): number {
  return base * longFactor;
}
