import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { FormatDefect } from "../../src/lsm/corruption-error.js";
import { decodeBatch, encodeBatch, WriteBatch } from "../../src/lsm/write-batch.js";
import { MemraftError } from "../../src/util/errors.js";
import { runs } from "../helpers/property.js";

const key = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 40,
});
const operations = fc.array(fc.tuple(key, fc.option(fc.uint8Array({ maxLength: 200 }))), {
  maxLength: 50,
});

test("a write batch decodes to the same operations and applied index", (t) => {
  fc.assert(
    fc.property(operations, fc.option(fc.maxSafeNat(), { nil: undefined }), (ops, appliedIndex) => {
      const batch = new WriteBatch();
      for (const [k, v] of ops) {
        if (v === null) batch.delete(k);
        else batch.put(k, v);
      }
      batch.appliedIndex = appliedIndex;
      const decoded = decodeBatch(encodeBatch(batch));
      assert.deepEqual(decoded.keys, batch.keys);
      assert.deepEqual(
        decoded.values.map((v) => (v === undefined ? undefined : Buffer.from(v))),
        batch.values.map((v) => (v === undefined ? undefined : Buffer.from(v))),
      );
      assert.equal(decoded.appliedIndex, appliedIndex);
      assert.equal(decoded.entryBytes, batch.entryBytes);
    }),
    { numRuns: runs(500) },
  );
  t.pass();
});

test("a cut or garbled batch is a FormatDefect", (t) => {
  const batch = new WriteBatch().put("key", Buffer.from("value")).delete("other");
  const bytes = encodeBatch(batch);
  for (let length = 0; length < bytes.length; length++) {
    t.throws(
      () => decodeBatch(bytes.subarray(0, length)),
      { instanceOf: FormatDefect },
      `length ${length}`,
    );
  }
  const garbled = Buffer.from(bytes);
  garbled[2] = 9;
  t.throws(() => decodeBatch(garbled), { instanceOf: FormatDefect, message: /unknown kind 9/ });
});

test("empty, oversized and non-latin1 keys are refused when the batch is built", (t) => {
  const error = t.throws(() => new WriteBatch().put("", Buffer.alloc(1)));
  t.true(MemraftError.is(error, "ERR_CONFIG"));
  t.throws(() => new WriteBatch().delete("k".repeat(70_000)), {
    message: /keys have 1 to 65535 bytes/,
  });
});
