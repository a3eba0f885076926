// Crash tests on the fault file system: what a power loss may leave behind.
// Every synced write must be there after reopen, nothing may appear half
// written, and the recovered state must be a prefix of the writes (no holes).

import test, { type ExecutionContext } from "ava";
import type { LsmEngine } from "../../src/lsm/engine.js";
import { WriteBatch } from "../../src/lsm/write-batch.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem, type TearMode } from "../helpers/fault-fs.js";
import {
  contents,
  openSmall,
  seededRandom,
  valueFor,
  writeThroughStalls,
} from "./engine-helpers.js";

test("a synced write in a new log brings back the unsynced writes of the log before it (no holes)", async (t) => {
  for (const mode of ["drop", "torn", "garbage"] as TearMode[]) {
    const fs = new FaultFileSystem();
    const engine = await openSmall(fs.processView(), {
      memtableBytes: 1024,
      immutableMemtablesMax: 3,
    });
    // Unsynced writes fill the memtable; the next group rotates to a new log.
    let i = 0;
    while (engine.stats().immutableMemtables === 0) {
      await engine.put(`k${String(i).padStart(3, "0")}`, valueFor("k", i));
      i++;
    }
    await engine.put("synced", Buffer.from("yes"), { sync: true });
    fs.crash({ mode, random: seededRandom(i) });
    const recovered = await contents(await openSmall(fs.processView()));
    t.is(recovered.get("synced"), "yes", mode);
    for (let j = 0; j < i; j++)
      t.true(recovered.has(`k${String(j).padStart(3, "0")}`), `${mode}: k${j} lost`);
  }
});

interface Outcome {
  /**
   * States after each write attempted, in order; index 0 is the empty
   * engine. The last write may have failed, yet reached the disk.
   */
  readonly states: Map<string, string>[];
  /** Writes acknowledged as durable (synced, or covered by a finished flush). */
  readonly durable: number;
}

/** Workload variants: one in npm test, five under test:long. */
const variants = process.env.MEMRAFT_LONG === "1" ? 5 : 1;

/**
 * A fixed workload of puts, deletes, syncs, flushes and compactions (its
 * variant shifts key spread, sync cadence and flush and compaction points). Stops at
 * the first failed operation (the "process" died). Keys are few, so values
 * are overwritten and deleted across files and levels.
 */
async function workload(engine: LsmEngine, wal: boolean, variant: number): Promise<Outcome> {
  const states: Map<string, string>[] = [new Map()];
  const model = new Map<string, string>();
  let durable = 0;
  try {
    for (let i = 1; i <= 120; i++) {
      const key = `k${String((i * 7) % (23 + 7 * variant)).padStart(2, "0")}`;
      const batch = new WriteBatch();
      if (i % 5 === 0) batch.delete(key);
      else batch.put(key, valueFor(key, i));
      batch.appliedIndex = i;
      const sync = i % (9 - variant) === 0;
      if (i % 5 === 0) model.delete(key);
      else model.set(key, valueFor(key, i).toString("latin1"));
      states.push(new Map(model));
      await writeThroughStalls(() => engine.write(batch, { sync }), engine);
      if (sync && wal) durable = i;
      if (i % (40 + 10 * variant) === 0) {
        await engine.flush();
        durable = i;
      }
      if (i === 100 - 10 * variant) await engine.compact();
    }
  } catch (error) {
    if (!MemraftError.is(error)) throw error;
  }
  return { states, durable };
}

for (const wal of [true, false]) {
  test(`a power cut at any I/O operation of a workload loses no durable write and leaves no hole (${wal ? "WAL" : "no WAL"})`, async (t) => {
    let cuts = 0;
    for (let variant = 0; variant < variants; variant++)
      cuts += await cutEverywhere(t, wal, variant);
    t.log(`${cuts} cut points`);
  });
}

/** Runs the workload once per I/O operation, cutting the power at that operation; returns the count. */
async function cutEverywhere(t: ExecutionContext, wal: boolean, variant: number): Promise<number> {
  const settings = {
    wal,
    memtableBytes: 1024,
    immutableMemtablesMax: 2,
    level0CompactionFiles: 2,
    level1Bytes: 4096,
  };
  // A dry run counts the operations.
  const counting = new FaultFileSystem();
  let operations = 0;
  counting.inject = () => {
    operations++;
    return undefined;
  };
  const dry = await openSmall(counting.processView(), settings);
  await workload(dry, wal, variant);
  await dry.close();
  t.true(operations > 100, `only ${operations} operations`);
  const modes: TearMode[] = ["drop", "torn", "garbage"];
  for (let cut = 1; cut <= operations; cut++) {
    const fs = new FaultFileSystem();
    const mode = modes[cut % 3]!;
    let seen = 0;
    fs.inject = () => {
      if (++seen !== cut) return undefined;
      fs.crash({ mode, random: seededRandom(cut) });
      return new MemraftError("ERR_IO", "power cut");
    };
    let outcome: Outcome = { states: [new Map()], durable: 0 };
    try {
      outcome = await workload(await openSmall(fs.processView(), settings), wal, variant);
    } catch (error) {
      // The cut may land while the engine opens.
      if (!MemraftError.is(error)) throw error;
    }
    fs.inject = undefined;
    if (seen < cut) continue;
    const engine = await openSmall(fs.processView(), settings);
    const recovered = [...(await contents(engine))];
    const matches = outcome.states
      .map((state, count) => ({
        count,
        same: JSON.stringify([...state].sort()) === JSON.stringify(recovered),
      }))
      .filter((candidate) => candidate.same)
      .map((candidate) => candidate.count);
    if (!wal) {
      // Without a WAL the flushed applied index names the prefix exactly.
      const index = engine.flushedAppliedIndex;
      t.true(
        matches.includes(Math.max(0, index)),
        `cut ${cut}: state is not the one at applied index ${index}`,
      );
      t.true(
        Math.max(0, index) >= outcome.durable,
        `cut ${cut}: flushed index ${index} below ${outcome.durable}`,
      );
    } else {
      t.true(
        matches.length > 0,
        `cut ${cut} (${mode}): recovered state is no prefix of the writes`,
      );
      t.true(Math.max(...matches) >= outcome.durable, `cut ${cut}: lost durable writes`);
    }
    await engine.close();
  }
  return operations;
}
