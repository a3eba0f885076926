// Engines in one process share one job worker (executor.ts): their
// compactions, running side by side, must never mix.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { LsmEngine } from "../../src/lsm/engine.js";
import { MemraftError } from "../../src/util/errors.js";

test("engines compacting at the same time through the shared worker keep their own data", async (t) => {
  t.timeout(120_000);
  const root = mkdtempSync(join(tmpdir(), "memraft-lsm-shared-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const engines = await Promise.all(
    [0, 1, 2, 3].map((index) =>
      LsmEngine.open(join(root, `e${index}`), {
        memtableBytes: 32 * 1024,
        level0CompactionFiles: 2,
      }),
    ),
  );
  const value = (engine: number, key: number, round: number) =>
    Buffer.from(`e${engine}:k${key}:r${round}:`.padEnd(400, "x"));
  const keys = 600;
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      engines.map(async (engine, index) => {
        for (let key = 0; key < keys; key++) {
          for (;;) {
            try {
              await engine.put(`key${String(key).padStart(5, "0")}`, value(index, key, round));
              break;
            } catch (error) {
              // Level 0 full: the engine asks writers to wait for compaction.
              if (!MemraftError.is(error, "ERR_QUEUE_FULL")) throw error;
              await engine.whenWritable();
            }
          }
        }
      }),
    );
  }
  await Promise.all(engines.map((engine) => engine.compact()));
  for (const [index, engine] of engines.entries()) {
    for (let key = 0; key < keys; key += 37) {
      const stored = await engine.get(`key${String(key).padStart(5, "0")}`);
      t.deepEqual(stored, value(index, key, rounds - 1), `engine ${index} key ${key}`);
    }
  }
  await Promise.all(engines.map((engine) => engine.close()));
});
