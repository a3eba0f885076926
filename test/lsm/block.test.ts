import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { BlockBuilder } from "../../src/lsm/block-builder.js";
import { Block, BlockCursor, found, verifyBlock } from "../../src/lsm/block-reader.js";
import { ByteSink } from "../../src/lsm/byte-sink.js";
import { FormatDefect } from "../../src/lsm/corruption-error.js";
import { EntryKind } from "../../src/lsm/entry-kind.js";
import { runs } from "../helpers/property.js";

type Entry = { key: Buffer; kind: EntryKind; value: Buffer };

/** Sorted, unique keys with values or deletions. */
const entriesArbitrary = fc
  .uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 24 }), {
    minLength: 1,
    maxLength: 120,
    selector: (key) => Buffer.from(key).toString("hex"),
  })
  .chain((keys) =>
    fc.tuple(
      fc.constant(keys.map((key) => Buffer.from(key)).sort(Buffer.compare)),
      fc.array(fc.option(fc.uint8Array({ maxLength: 40 })), {
        minLength: keys.length,
        maxLength: keys.length,
      }),
    ),
  )
  .map(([keys, values]): Entry[] =>
    keys.map((key, i) => {
      const value = values[i];
      return value === null || value === undefined
        ? { key, kind: EntryKind.deletion, value: Buffer.alloc(0) }
        : { key, kind: EntryKind.value, value: Buffer.from(value) };
    }),
  );

function build(entries: readonly Entry[], restartInterval: number): Uint8Array {
  const builder = new BlockBuilder(restartInterval);
  for (const { key, kind, value } of entries)
    builder.add(key, 0, key.length, kind, value, 0, value.length);
  const sink = new ByteSink();
  const size = builder.finishInto(sink);
  return verifyBlock(sink.view(), 0, size);
}

test("a block returns every entry it was built with, by lookup and in order", (t) => {
  fc.assert(
    fc.property(entriesArbitrary, fc.integer({ min: 1, max: 20 }), (entries, interval) => {
      const block = new Block(build(entries, interval));
      for (const entry of entries) {
        assert.ok(
          block.find(entry.key, 0, entry.key.length),
          `key ${entry.key.toString("hex")} not found`,
        );
        assert.equal(found.kind, entry.kind);
        assert.deepEqual(
          Buffer.from(block.data.subarray(found.valueStart, found.valueEnd)),
          entry.value,
        );
      }
      const cursor = new BlockCursor();
      cursor.reset(block);
      cursor.seekToFirst();
      const seen: string[] = [];
      while (cursor.valid) {
        seen.push(Buffer.from(cursor.key.subarray(0, cursor.keyLength)).toString("hex"));
        cursor.next();
      }
      assert.deepEqual(
        seen,
        entries.map((entry) => entry.key.toString("hex")),
      );
    }),
    { numRuns: runs(300) },
  );
  t.pass();
});

test("seek lands on the first key at or after the target, and absent keys are not found", (t) => {
  fc.assert(
    fc.property(
      entriesArbitrary,
      fc.uint8Array({ minLength: 1, maxLength: 24 }),
      (entries, probe) => {
        const block = new Block(build(entries, 4));
        const target = Buffer.from(probe);
        const cursor = new BlockCursor();
        cursor.reset(block);
        cursor.seek(target, 0, target.length);
        const expected = entries.find((entry) => Buffer.compare(entry.key, target) >= 0);
        if (expected === undefined) assert.ok(!cursor.valid);
        else assert.deepEqual(Buffer.from(cursor.key.subarray(0, cursor.keyLength)), expected.key);
        const present = entries.some((entry) => entry.key.equals(target));
        assert.equal(block.find(target, 0, target.length), present);
      },
    ),
    { numRuns: runs(300) },
  );
  t.pass();
});

test("a flipped byte anywhere in a stored block fails its checksum", (t) => {
  const builder = new BlockBuilder(16);
  for (let i = 0; i < 50; i++) {
    const key = Buffer.from(`key${String(i).padStart(4, "0")}`);
    builder.add(key, 0, key.length, EntryKind.value, key, 0, key.length);
  }
  const sink = new ByteSink();
  const size = builder.finishInto(sink);
  const stored = sink.view();
  for (let position = 0; position < stored.length; position++) {
    const damaged = Uint8Array.from(stored);
    damaged[position]! ^= 0x01;
    t.throws(() => verifyBlock(damaged, 0, size), { instanceOf: FormatDefect }, `byte ${position}`);
  }
});

test("a block whose restart array is damaged is refused, not misread", (t) => {
  const contents = Uint8Array.from(
    build([{ key: Buffer.from("a"), kind: EntryKind.value, value: Buffer.from("1") }], 1),
  );
  contents[contents.length - 4] = 200;
  t.throws(() => new Block(contents), { instanceOf: FormatDefect, message: /restart count/ });
});
