import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { crc32c, maskCrc, unmaskCrc } from "../../src/util/crc32c.js";
import { runs } from "../helpers/property.js";

/** The definition, one bit at a time: what every fast path must agree with. */
function bitwise(data: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc ^= data[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

test("CRC32C matches the published check values", (t) => {
  t.is(crc32c(Buffer.from("123456789")), 0xe3069283);
  t.is(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  t.is(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  t.is(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
});

test("CRC32C agrees with the bit-by-bit definition at any offset, length and alignment, and continues across calls", (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(7), fc.nat(600), (bytes, shift, cut) => {
      // Copy at a shifted offset inside a larger buffer to exercise unaligned starts.
      const holder = new Uint8Array(bytes.length + 8);
      holder.set(bytes, shift);
      const data = holder.subarray(shift, shift + bytes.length);
      const expected = bitwise(data, 0, data.length);
      assert.equal(crc32c(data), expected);
      const middle = Math.min(cut, data.length);
      assert.equal(crc32c(data, middle, data.length, crc32c(data, 0, middle)), expected);
    }),
    { numRuns: runs(2000) },
  );
  t.pass();
});

test("masking is undone by unmasking", (t) => {
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 32 - 1 }), (crc) => unmaskCrc(maskCrc(crc)) === crc),
    { numRuns: runs(1000) },
  );
  t.pass();
});
