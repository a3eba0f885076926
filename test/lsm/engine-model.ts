// The model behind engine-model.test.ts: random programs of puts, deletes, batches, gets, scans,
// flushes, compactions, clean reopens and crashes run against the engine and
// against a Map, on the fault file system with deterministic job execution,
// under randomized engine settings (with and without a WAL). A failure prints
// its seed; SEED=<n> replays it exactly.
//
// After a crash the engine must hold exactly the state after some prefix of
// the writes: with a WAL, a prefix no shorter than the last synced write (or
// flush); without one, the prefix its flushedAppliedIndex names, no shorter
// than the last flush().

import assert from "node:assert/strict";
import fc from "fast-check";
import type { LsmEngine } from "../../src/lsm/engine.js";
import type { EngineOptions } from "../../src/lsm/options.js";
import { WriteBatch } from "../../src/lsm/write-batch.js";
import type { TearMode } from "../helpers/fault-fs.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { contents, openSmall, seededRandom, turns, writeThroughStalls } from "./engine-helpers.js";

type Change = readonly [key: string, value: string | undefined];

export interface Model {
  /** State at the start of the window (after the last crash or reopen). */
  base: Map<string, string>;
  /** Writes since then, one entry per batch, with their global index. */
  writes: { index: number; changes: readonly Change[] }[];
  /** Writes in the window that must survive a crash (synced, or flushed). */
  durableWrites: number;
  nextIndex: number;
}

export interface Real {
  fs: FaultFileSystem;
  engine: LsmEngine;
  options: EngineOptions;
}

function stateAfter(model: Model, count: number): Map<string, string> {
  const state = new Map(model.base);
  for (const write of model.writes.slice(0, count)) {
    for (const [key, value] of write.changes) {
      if (value === undefined) state.delete(key);
      else state.set(key, value);
    }
  }
  return state;
}

function sorted(state: Map<string, string>): [string, string][] {
  return [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function valueText(key: string, index: number, size: number): string {
  return `${key}#${index}|`.padEnd(size, String.fromCharCode(97 + (index % 26)));
}

const keyArbitrary = fc.constantFrom(
  ...Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(2, "0")}`),
  "a",
  "zz\u00ff",
);

export class WriteCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly changes: readonly (readonly [string, number | undefined])[],
    readonly sync: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const index = model.nextIndex++;
    const batch = new WriteBatch();
    const changes: Change[] = this.changes.map(([key, size]) => [
      key,
      size === undefined ? undefined : valueText(key, index, size),
    ]);
    for (const [key, value] of changes) {
      if (value === undefined) batch.delete(key);
      else batch.put(key, Buffer.from(value, "latin1"));
    }
    batch.appliedIndex = index;
    await writeThroughStalls(() => real.engine.write(batch, { sync: this.sync }), real.engine);
    model.writes.push({ index, changes });
    if (this.sync && real.options.wal !== false) model.durableWrites = model.writes.length;
  }
  toString(): string {
    return `write(${JSON.stringify(this.changes)}${this.sync ? ", sync" : ""})`;
  }
}

export class GetCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const expected = stateAfter(model, model.writes.length).get(this.key);
    assert.equal(
      (await real.engine.get(this.key))?.toString("latin1"),
      expected,
      `get ${this.key}`,
    );
  }
  toString(): string {
    return `get(${this.key})`;
  }
}

export class ScanCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly start: string | undefined,
    readonly end: string | undefined,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const expected = sorted(stateAfter(model, model.writes.length)).filter(
      ([key]) =>
        (this.start === undefined || key >= this.start) &&
        (this.end === undefined || key < this.end),
    );
    const range: { start?: string; end?: string } = {};
    if (this.start !== undefined) range.start = this.start;
    if (this.end !== undefined) range.end = this.end;
    const seen: [string, string][] = [];
    for await (const { key, value } of real.engine.scan(range))
      seen.push([key, value.toString("latin1")]);
    assert.deepEqual(seen, expected);
  }
  toString(): string {
    return `scan(${this.start ?? ""}..${this.end ?? ""})`;
  }
}

export class FlushCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly compact: boolean) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    if (this.compact) await real.engine.compact();
    else await real.engine.flush();
    model.durableWrites = model.writes.length;
  }
  toString(): string {
    return this.compact ? "compact" : "flush";
  }
}

export class ReopenCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    await real.engine.close();
    real.engine = await openSmall(real.fs.processView(), real.options);
    model.base = stateAfter(model, model.writes.length);
    model.writes = [];
    model.durableWrites = 0;
    assert.deepEqual(sorted(await contents(real.engine)), sorted(model.base));
  }
  toString(): string {
    return "reopen";
  }
}

export class CrashCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly mode: TearMode,
    readonly seed: number,
    readonly settle: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    // Let background flushes and compactions get partway before the power goes.
    await turns(this.settle);
    real.fs.crash({ mode: this.mode, random: seededRandom(this.seed) });
    real.engine = await openSmall(real.fs.processView(), real.options);
    const recovered = sorted(await contents(real.engine));
    let survived: number;
    if (real.options.wal === false) {
      const flushed = real.engine.flushedAppliedIndex;
      survived = model.writes.filter((write) => write.index <= flushed).length;
      assert.deepEqual(
        recovered,
        sorted(stateAfter(model, survived)),
        `state at applied index ${flushed}`,
      );
    } else {
      const candidates: number[] = [];
      for (let count = model.writes.length; count >= 0; count--) {
        if (JSON.stringify(sorted(stateAfter(model, count))) === JSON.stringify(recovered))
          candidates.push(count);
      }
      assert.ok(
        candidates.length > 0,
        `recovered state is no prefix of the writes: ${JSON.stringify(recovered)}`,
      );
      survived = candidates[0]!;
    }
    assert.ok(
      survived >= model.durableWrites,
      `lost durable writes: ${survived} of ${model.durableWrites} survived`,
    );
    model.base = stateAfter(model, survived);
    model.writes = [];
    model.durableWrites = 0;
  }
  toString(): string {
    return `crash(${this.mode}, ${this.seed}, settle ${this.settle})`;
  }
}

const commandKinds = [
  fc
    .tuple(
      fc.array(
        fc.tuple(
          keyArbitrary,
          fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined, freq: 4 }),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      fc.boolean(),
    )
    .map(([changes, sync]) => new WriteCommand(changes, sync)),
  fc
    .tuple(keyArbitrary, fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined, freq: 5 }))
    .map(([key, size]) => new WriteCommand([[key, size]], false)),
  keyArbitrary.map((key) => new GetCommand(key)),
  fc
    .tuple(fc.option(keyArbitrary, { nil: undefined }), fc.option(keyArbitrary, { nil: undefined }))
    .map(([start, end]) => new ScanCommand(start, end)),
  fc.boolean().map((compact) => new FlushCommand(compact)),
  fc.constant(new ReopenCommand()),
  fc
    .tuple(
      fc.constantFrom<TearMode>("drop", "torn", "garbage"),
      fc.nat(),
      // Often no turn at all: background flushes still pending; else partway.
      fc.oneof(fc.constant(0), fc.nat(40)),
    )
    .map(([mode, seed, settle]) => new CrashCommand(mode, seed, settle)),
];

export const settings = fc.record({
  wal: fc.boolean(),
  memtableBytes: fc.integer({ min: 1024, max: 8 * 1024 }),
  immutableMemtablesMax: fc.integer({ min: 1, max: 3 }),
  level0CompactionFiles: fc.integer({ min: 1, max: 4 }),
  level1Bytes: fc.integer({ min: 1024, max: 32 * 1024 }),
  levelBytesMultiplier: fc.integer({ min: 2, max: 4 }),
  tableFileBytes: fc.integer({ min: 1024, max: 8192 }),
  blockBytes: fc.constantFrom(256, 512, 1024),
  blockRestartInterval: fc.integer({ min: 1, max: 16 }),
  levelCount: fc.integer({ min: 2, max: 5 }),
});

/** Writes dominate, so that memtables fill and rotate between the other steps. */
export const commands = [
  ...Array.from({ length: 4 }, () => commandKinds[0]!),
  ...Array.from({ length: 4 }, () => commandKinds[1]!),
  commandKinds[2]!,
  commandKinds[2]!,
  ...commandKinds.slice(3),
  commandKinds[6]!,
];

/** Runs one program on a fresh engine (what each property run does). */
export async function runProgram(
  options: EngineOptions,
  program: Iterable<fc.AsyncCommand<Model, Real>>,
): Promise<void> {
  const fs = new FaultFileSystem();
  const engineOptions: EngineOptions = {
    ...options,
    level0StopWritesFiles: (options.level0CompactionFiles ?? 4) + 4,
  };
  const real: Real = {
    fs,
    engine: await openSmall(fs.processView(), engineOptions),
    options: engineOptions,
  };
  const model: Model = { base: new Map(), writes: [], durableWrites: 0, nextIndex: 1 };
  try {
    await fc.asyncModelRun(() => ({ model, real }), program);
  } finally {
    await real.engine.close();
  }
}
