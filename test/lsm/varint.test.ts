import test from "ava";
import fc from "fast-check";
import {
  decoded,
  readFixed32,
  readFixed64,
  readVarint,
  varintBytes,
  writeFixed32,
  writeFixed64,
  writeVarint,
} from "../../src/lsm/varint.js";
import { runs } from "../helpers/property.js";

test("a varint of any safe integer reads back with the size it claims", (t) => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (value) => {
      const bytes = new Uint8Array(10);
      const end = writeVarint(bytes, 1, value);
      t.is(end - 1, varintBytes(value));
      t.is(readVarint(bytes, 1, end), end);
      t.is(decoded.value, value);
    }),
    { numRuns: runs(2000) },
  );
});

test("a varint cut short or too long reads as -1", (t) => {
  const bytes = new Uint8Array(10);
  const end = writeVarint(bytes, 0, 2 ** 40);
  t.is(readVarint(bytes, 0, end - 1), -1);
  t.is(readVarint(new Uint8Array(9).fill(0xff), 0, 9), -1);
});

test("fixed-width fields read back, and a 64-bit field beyond 2^53 reads as -1", (t) => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.nat({ max: 2 ** 32 - 1 }), (wide, narrow) => {
      const bytes = new Uint8Array(12);
      writeFixed64(bytes, 0, wide);
      writeFixed32(bytes, 8, narrow);
      t.is(readFixed64(bytes, 0), wide);
      t.is(readFixed32(bytes, 8), narrow);
    }),
    { numRuns: runs(1000) },
  );
  t.is(readFixed64(new Uint8Array(8).fill(0xff), 0), -1);
});
