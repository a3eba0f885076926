// Model-based test of the engine (machinery in engine-model.ts): random
// programs against a Map, with crashes, on the fault file system with
// deterministic job execution, under randomized settings. A failure prints
// its seed and counterexample; SEED=<n> replays the run.

import test from "ava";
import fc from "fast-check";
import { runs } from "../helpers/property.js";
import { commands, runProgram, settings } from "./engine-model.js";

test("the engine behaves like a Map through flushes, compactions, reopens and crashes", async (t) => {
  let operations = 0;
  await fc.assert(
    fc.asyncProperty(
      settings,
      fc.commands(commands, { maxCommands: 200, size: "max" }),
      async (options, program) => {
        await runProgram(options, program);
        operations += [...program].length;
      },
    ),
    { numRuns: runs(100) },
  );
  t.log(`${operations} operations checked`);
  t.pass();
});
