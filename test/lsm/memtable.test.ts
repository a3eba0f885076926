import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { BlockCursor } from "../../src/lsm/block-reader.js";
import { EntryKind } from "../../src/lsm/entry-kind.js";
import { buildFlushTable } from "../../src/lsm/flush-build.js";
import { Memtable } from "../../src/lsm/memtable.js";
import { encodeBatch, WriteBatch } from "../../src/lsm/write-batch.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { runs } from "../helpers/property.js";
import { openTableBytes } from "./sst-helpers.js";

const key = fc.string({
  unit: fc.constantFrom("a", "b", "c", "\u00ff", "\u0000"),
  minLength: 1,
  maxLength: 4,
});
const value = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined });
/** Mostly small values, now and then one larger than a memtable chunk. */
const operations = fc.array(
  fc.tuple(
    key,
    fc.oneof(
      { weight: 30, arbitrary: value },
      { weight: 1, arbitrary: fc.constant(new Uint8Array(1_100_000)) },
    ),
  ),
  { maxLength: 200 },
);

test("a memtable answers like a Map of the last write per key, whether written directly or from encoded batches", (t) => {
  fc.assert(
    fc.property(operations, (ops) => {
      const direct = new Memtable(0);
      const encoded = new Memtable(0);
      const model = new Map<string, Uint8Array | undefined>();
      for (const [k, v] of ops) {
        direct.add(k, v);
        const batch = v === undefined ? new WriteBatch().delete(k) : new WriteBatch().put(k, v);
        encoded.addEncoded(encodeBatch(batch), batch.keys);
        model.set(k, v);
      }
      for (const memtable of [direct, encoded]) {
        for (const [k, v] of model) {
          const got = memtable.get(k);
          if (v === undefined) assert.equal(got, null);
          else assert.deepEqual(Buffer.from(got!), Buffer.from(v));
        }
        assert.equal(memtable.get("zz"), undefined);
        assert.deepEqual(memtable.sortedRange(undefined, undefined).keys, [...model.keys()].sort());
      }
    }),
    { numRuns: runs(100) },
  );
  t.pass();
});

test("a frozen memtable's arena flushes to an SST of the last write per key, in key order", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      operations.filter((ops) => ops.length > 0),
      async (ops) => {
        const memtable = new Memtable(0);
        const model = new Map<string, Uint8Array | undefined>();
        for (const [k, v] of ops) {
          memtable.add(k, v);
          model.set(k, v);
        }
        const built = buildFlushTable(memtable.freeze(), {
          blockBytes: 512,
          blockRestartInterval: 8,
          bloomBitsPerKey: 10,
        });
        const reader = await openTableBytes(new FaultFileSystem(), 9, built.bytes);
        const seen: [string, Uint8Array | undefined][] = [];
        const cursor = new BlockCursor();
        for (let ordinal = 0; ordinal < reader.blockCount; ordinal++) {
          cursor.reset(await reader.readBlock(ordinal));
          for (cursor.seekToFirst(); cursor.valid; cursor.next()) {
            const k = Buffer.from(cursor.key.subarray(0, cursor.keyLength)).toString("latin1");
            const data = cursor.block!.data;
            seen.push([
              k,
              cursor.kind === EntryKind.deletion
                ? undefined
                : Buffer.from(data.subarray(cursor.valueStart, cursor.valueEnd)),
            ]);
          }
        }
        reader.unpin();
        const expected = [...model.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]): [string, Uint8Array | undefined] => [
            k,
            v === undefined ? undefined : Buffer.from(v),
          ]);
        assert.deepEqual(seen, expected);
      },
    ),
    { numRuns: runs(50) },
  );
  t.pass();
});

test("a frozen memtable refuses writes", (t) => {
  const memtable = new Memtable(0);
  memtable.add("a", Buffer.from("1"));
  memtable.freeze();
  t.throws(() => memtable.add("b", Buffer.from("2")), { message: /frozen/ });
});
