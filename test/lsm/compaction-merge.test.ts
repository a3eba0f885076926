import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { BlockCursor } from "../../src/lsm/block-reader.js";
import {
  CompactionSession,
  type EntryFilter,
  InputCorruption,
} from "../../src/lsm/compaction-merge.js";
import { EntryKind } from "../../src/lsm/entry-kind.js";
import { SstBuilder } from "../../src/lsm/sst-builder.js";
import type { SstReader } from "../../src/lsm/sst-reader.js";
import type { CompactionSetup, KeyRange, RunChunk } from "../../src/lsm/worker-protocol.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { runs as propertyRuns } from "../helpers/property.js";
import { openTableBytes } from "./sst-helpers.js";

const table = { blockBytes: 128, blockRestartInterval: 4, bloomBitsPerKey: 10 };
type Entry = { key: string; value: string | undefined };

async function tableOf(
  fs: FaultFileSystem,
  number: number,
  entries: readonly Entry[],
): Promise<SstReader> {
  const builder = new SstBuilder(table, 1024);
  for (const { key, value } of entries) {
    const k = Buffer.from(key, "latin1");
    const v = Buffer.from(value ?? "");
    builder.add(
      k,
      0,
      k.length,
      value === undefined ? EntryKind.deletion : EntryKind.value,
      v,
      0,
      v.length,
    );
  }
  return openTableBytes(fs, number, builder.finish().bytes);
}

/** The chunks of a run, `blocksPerChunk` data blocks at a time. */
async function chunksOf(
  readers: readonly SstReader[],
  blocksPerChunk: number,
): Promise<RunChunk[]> {
  const chunks: RunChunk[] = [];
  for (const [r, reader] of readers.entries()) {
    for (let first = 0; first < reader.blockCount; first += blocksPerChunk) {
      const end = Math.min(reader.blockCount, first + blocksPerChunk);
      chunks.push({
        fileNumber: reader.fileNumber,
        fileOffset: reader.blockOffsets[first]!,
        bytes: new Uint8Array(await reader.readBlocks(first, end)),
        blockSizes: reader.blockSizes.slice(first, end),
        last: r === readers.length - 1 && end === reader.blockCount,
      });
    }
  }
  return chunks;
}

/** Runs a session to the end, feeding each run's chunks on demand; returns its output tables. */
function drive(session: CompactionSession, runs: RunChunk[][]): Uint8Array[] {
  const queues = runs.map((chunks) => chunks.slice());
  const outputs: Uint8Array[] = [];
  let step = session.begin(queues.map((queue) => queue.shift()!));
  for (;;) {
    for (const output of step.outputs) outputs.push(output.bytes);
    if (step.need === -1) return outputs;
    const next = queues[step.need]!.shift();
    assert.ok(next !== undefined, `run ${step.need} asked for more than it has`);
    step = session.feed(step.need, next);
  }
}

/** Every entry of a table, read back through an SstReader. */
async function entriesOf(fs: FaultFileSystem, number: number, bytes: Uint8Array): Promise<Entry[]> {
  const reader = await openTableBytes(fs, number, bytes);
  const entries: Entry[] = [];
  const cursor = new BlockCursor();
  for (let ordinal = 0; ordinal < reader.blockCount; ordinal++) {
    cursor.reset(await reader.readBlock(ordinal, false));
    for (cursor.seekToFirst(); cursor.valid; cursor.next()) {
      const data = cursor.block!.data;
      entries.push({
        key: Buffer.from(cursor.key.subarray(0, cursor.keyLength)).toString("latin1"),
        value:
          cursor.kind === EntryKind.deletion
            ? undefined
            : Buffer.from(data.subarray(cursor.valueStart, cursor.valueEnd)).toString(),
      });
    }
  }
  reader.unpin();
  return entries;
}

/** A compaction's settings: no level below, no grandparents, no filter, unless overridden. */
function setupOf(runCount: number, overrides: Partial<CompactionSetup>): CompactionSetup {
  return {
    runCount,
    table,
    tableFileBytes: 1 << 20,
    deeperLevels: [],
    grandparents: [],
    grandparentOverlapBytesMax: 10_000,
    filter: undefined,
    ...overrides,
  };
}

function reference(
  runs: readonly Entry[][],
  deeper: readonly [string, string][],
  filter: (value: string) => boolean,
): Entry[] {
  const newest = new Map<string, Entry>();
  for (let r = runs.length - 1; r >= 0; r--)
    for (const entry of runs[r]!) newest.set(entry.key, entry);
  const base = (key: string): boolean => !deeper.some(([low, high]) => low <= key && key <= high);
  const result: Entry[] = [];
  for (const key of [...newest.keys()].sort()) {
    const entry = newest.get(key)!;
    if (entry.value === undefined || !filter(entry.value)) {
      if (!base(key)) result.push({ key, value: undefined });
    } else {
      result.push(entry);
    }
  }
  return result;
}

const keyArbitrary = fc.string({
  unit: fc.constantFrom("a", "b", "c", "d"),
  minLength: 1,
  maxLength: 4,
});
const runArbitrary = fc
  .uniqueArray(
    fc.tuple(keyArbitrary, fc.option(fc.string({ maxLength: 30 }), { nil: undefined })),
    {
      minLength: 1,
      maxLength: 60,
      selector: ([key]) => key,
    },
  )
  .map((entries) =>
    entries.map(([key, value]) => ({ key, value })).sort((a, b) => (a.key < b.key ? -1 : 1)),
  );

test("a compaction keeps the newest version of each key, drops what nothing older can need, and tombstones filtered keys", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(runArbitrary, { minLength: 1, maxLength: 5 }),
      fc.array(
        fc
          .tuple(keyArbitrary, keyArbitrary)
          .map(([a, b]): [string, string] => (a <= b ? [a, b] : [b, a])),
        { maxLength: 3 },
      ),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(200, 600, 100_000),
      fc.boolean(),
      async (runs, deeper, blocksPerChunk, tableFileBytes, filtering) => {
        const fs = new FaultFileSystem();
        // Each run is split into up to two files at a key boundary, as a level's files are.
        const runChunks: RunChunk[][] = [];
        let number = 1;
        for (const run of runs) {
          const half = Math.ceil(run.length / 2);
          const parts = [run.slice(0, half), run.slice(half)].filter((part) => part.length > 0);
          const readers = await Promise.all(parts.map((part) => tableOf(fs, number++, part)));
          runChunks.push(await chunksOf(readers, blocksPerChunk));
        }
        const keep = (value: string): boolean => !filtering || !value.startsWith("x");
        const filter: EntryFilter | undefined = filtering
          ? (_key, value) => keep(Buffer.from(value).toString())
          : undefined;
        const range = (low: string, high: string): KeyRange => ({
          smallest: Buffer.from(low, "latin1"),
          largest: Buffer.from(high, "latin1"),
          fileBytes: 1000,
        });
        const setup = setupOf(runs.length, {
          tableFileBytes,
          // One deeper level per range keeps each level sorted and disjoint.
          deeperLevels: deeper.map(([low, high]) => [range(low, high)]),
        });
        const tables = drive(new CompactionSession(setup, filter), runChunks);
        const outputs = await Promise.all(tables.map((bytes, i) => entriesOf(fs, 100 + i, bytes)));
        assert.deepEqual(outputs.flat(), reference(runs, deeper, keep));
        for (let i = 1; i < outputs.length; i++) {
          assert.ok(outputs[i - 1]!.at(-1)!.key < outputs[i]![0]!.key, "output files overlap");
        }
      },
    ),
    { numRuns: propertyRuns(150) },
  );
  t.pass();
});

test("a damaged input block stops the compaction with its file number and offset", async (t) => {
  const fs = new FaultFileSystem();
  const entries = Array.from({ length: 40 }, (_, i) => ({
    key: `k${String(i).padStart(3, "0")}`,
    value: "v".repeat(20),
  }));
  const reader = await tableOf(fs, 7, entries);
  const chunks = await chunksOf([reader], 100);
  const damaged = chunks[0]!;
  const secondBlock = reader.blockOffsets[1]!;
  damaged.bytes[secondBlock + 3]! ^= 0xff;
  const setup = setupOf(1, { tableFileBytes: 1 << 20 });
  const error = t.throws(() => new CompactionSession(setup, undefined).begin([damaged]), {
    instanceOf: InputCorruption,
  });
  t.is(error?.fileNumber, 7);
  t.is(error?.offset, secondBlock);
  t.regex(error?.reason ?? "", /checksum mismatch/);
});
