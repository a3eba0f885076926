import test from "ava";
import fc from "fast-check";
import {
  decodeStoreEntry,
  encodeStoreEntry,
  type StoreEntry,
} from "../../src/store/entry-codec.js";
import type { ItemRecord } from "../../src/store/item.js";
import { decodeItem, encodeItem } from "../../src/store/item-codec.js";
import { MemraftError } from "../../src/util/errors.js";
import { runs } from "../helpers/property.js";

const key = fc.uint8Array({ maxLength: 250 }).map((bytes) => Buffer.from(bytes).toString("latin1"));
const value = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
const uint32 = fc.nat({ max: 0xffffffff });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const optionalInt32 = fc.option(int32, { nil: undefined });
const order = (letters: string) => fc.subarray([...letters]).map((picked) => picked.join(""));

const item: fc.Arbitrary<ItemRecord> = fc.record({
  value,
  flags: uint32,
  exptime: uint32,
  cas: uint64,
  writeTime: uint32,
  stale: fc.boolean(),
  tokenSent: fc.boolean(),
  keyBinary: fc.boolean(),
});

const entry: fc.Arbitrary<StoreEntry> = fc.record({
  timestampMs: fc.nat({ max: 2 ** 50 }),
  command: fc.oneof(
    fc.record({
      kind: fc.constant("store" as const),
      request: fc.record({
        mode: fc.constantFrom("set", "add", "replace", "append", "prepend", "cas" as const),
        key,
        value,
        flags: uint32,
        exptime: int32,
        cas: uint64,
        invalidate: fc.boolean(),
        keyBinary: fc.boolean(),
      }),
    }),
    fc.record({
      kind: fc.constant("delete" as const),
      request: fc.record({
        key,
        cas: fc.option(uint64, { nil: undefined }),
        invalidate: fc.boolean(),
        touchExptime: optionalInt32,
      }),
    }),
    fc.record({
      kind: fc.constant("arithmetic" as const),
      request: fc.record({
        key,
        incr: fc.boolean(),
        delta: uint64,
        cas: uint64,
        vivifyExptime: optionalInt32,
        initial: uint64,
        touchExptime: optionalInt32,
        effectOrder: order("tTN"),
      }),
    }),
    fc.record({ kind: fc.constant("touch" as const), key, exptime: int32 }),
    fc.record({ kind: fc.constant("flush_all" as const), delay: int32 }),
    fc.record({
      kind: fc.constant("meta_get" as const),
      request: fc.record({
        key,
        noBump: fc.boolean(),
        keyBinary: fc.boolean(),
        touchExptime: optionalInt32,
        vivifyExptime: optionalInt32,
        recacheExptime: optionalInt32,
        effectOrder: order("TNRt"),
      }),
    }),
  ),
});

test("store entries decode to what was encoded", (t) => {
  fc.assert(
    fc.property(entry, (original) => {
      t.deepEqual(decodeStoreEntry(encodeStoreEntry(original), "test"), original);
    }),
    { numRuns: runs(2000) },
  );
});

test("items decode to what was encoded", (t) => {
  fc.assert(
    fc.property(item, (original) => {
      t.deepEqual(decodeItem(encodeItem(original), "test"), original);
    }),
    { numRuns: runs(1000) },
  );
});

test("a truncated or unknown store entry is a corruption error naming where it was", (t) => {
  fc.assert(
    fc.property(entry, fc.nat(), (original, cut) => {
      const bytes = encodeStoreEntry(original);
      const truncated = bytes.subarray(0, cut % bytes.length);
      const error = t.throws(() => decodeStoreEntry(truncated, "group 1 index 9"));
      t.true(MemraftError.is(error, "ERR_CORRUPTION"));
      t.regex(error?.message ?? "", /group 1 index 9/);
    }),
    { numRuns: runs(300) },
  );
  const unknown = Buffer.from([1, 99, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.throws(() => decodeStoreEntry(unknown, "x"), { message: /operation 99/ });
  t.throws(() => decodeStoreEntry(Buffer.from([2, 1]), "x"), { message: /format version 2/ });
});

test("bytes that are not an item are a corruption error", (t) => {
  const error = t.throws(() => decodeItem(Buffer.from("short"), "key foo"));
  t.true(MemraftError.is(error, "ERR_CORRUPTION"));
  t.regex(error?.message ?? "", /key foo/);
});
