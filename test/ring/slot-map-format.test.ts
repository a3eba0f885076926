import test from "ava";
import fc from "fast-check";
import { evenSlotMap, type SlotMap } from "../../src/ring/slot-map.js";
import {
  decodeSlotMap,
  encodeSlotMap,
  slotMapBytes,
  slotMapHeaderBytes,
} from "../../src/ring/slot-map-format.js";
import { crc32c, maskCrc } from "../../src/util/crc32c.js";
import { MemraftError } from "../../src/util/errors.js";
import { runs } from "../helpers/property.js";
import { slotMapArbitrary } from "./fixtures.js";

const source = "metadata group index 42";

function assertCorrupt(t: import("ava").ExecutionContext, bytes: Uint8Array, reason: RegExp) {
  const error = t.throws(() => decodeSlotMap(bytes, source));
  t.true(MemraftError.is(error, "ERR_CORRUPTION"), String(error));
  t.regex(error?.message ?? "", /slot map from metadata group index 42 is corrupt at offset \d+/);
  t.regex(error?.message ?? "", reason);
}

/** `bytes` with its CRC recomputed, so only the content can be wrong. */
function resealed(bytes: Buffer): Buffer {
  const crcOffset = bytes.length - 4;
  bytes.writeUInt32LE(maskCrc(crc32c(bytes, 0, crcOffset)), crcOffset);
  return bytes;
}

test("slot maps decode to what was encoded", (t) => {
  fc.assert(
    fc.property(slotMapArbitrary, (map) => {
      t.deepEqual(decodeSlotMap(encodeSlotMap(map), source), map);
    }),
    { numRuns: runs(300) },
  );
});

test("the encoding of the even 3-group map is pinned (the format is frozen)", (t) => {
  const fields = [
    "4d534d50", // magic
    "01000000", // version 1
    "0100000000000000", // epoch 1
    "03000000", // 3 ranges
    "0000" + "5415" + "00000000", // slots 0-5460 -> group 0
    "5515" + "a92a" + "01000000", // slots 5461-10921 -> group 1
    "aa2a" + "ff3f" + "02000000", // slots 10922-16383 -> group 2
    "afe8e676", // masked CRC32C
  ];
  t.is(encodeSlotMap(evenSlotMap(3)).toString("hex"), fields.join(""));
});

test("every single-byte change of an encoded map is detected", (t) => {
  const original = encodeSlotMap(evenSlotMap(3, 12345));
  for (let offset = 0; offset < original.length; offset++) {
    for (let bit = 0; bit < 8; bit++) {
      const damaged = Buffer.from(original);
      damaged[offset]! ^= 1 << bit;
      assertCorrupt(t, damaged, /./);
    }
  }
});

test("random byte changes in random maps are detected", (t) => {
  fc.assert(
    fc.property(slotMapArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (map, at, xor) => {
      const damaged = encodeSlotMap(map);
      damaged[at % damaged.length]! ^= xor;
      assertCorrupt(t, damaged, /./);
    }),
    { numRuns: runs(300) },
  );
});

test("a truncated or extended map is detected, saying how long it should be", (t) => {
  const original = encodeSlotMap(evenSlotMap(16));
  t.is(original.length, slotMapBytes(16));
  for (let length = 0; length < original.length; length++) {
    assertCorrupt(
      t,
      original.subarray(0, length),
      length < slotMapBytes(0)
        ? /shorter than the 24-byte minimum/
        : /16 ranges need 152 bytes, found/,
    );
  }
  assertCorrupt(
    t,
    Buffer.concat([original, Buffer.alloc(1)]),
    /16 ranges need 152 bytes, found 153/,
  );
});

test("another magic, a newer version or too many ranges are named as such", (t) => {
  const bytes = encodeSlotMap(evenSlotMap(2));
  const otherMagic = Buffer.from(bytes);
  otherMagic.writeUInt32LE(0x4d524c47, 0);
  assertCorrupt(t, otherMagic, /magic is 0x4d524c47, expected 0x504d534d/);
  const newer = Buffer.from(bytes);
  newer.writeUInt32LE(2, 4);
  assertCorrupt(t, newer, /format version 2, this build reads 1/);
  const tooMany = Buffer.from(bytes);
  tooMany.writeUInt32LE(16385, 16);
  assertCorrupt(t, tooMany, /16385 ranges, more than the 16384 slots/);
});

test("a map whose checksum matches but whose layout is invalid is still corruption", (t) => {
  const gap = encodeSlotMap(evenSlotMap(2));
  gap.writeUInt16LE(8193, slotMapHeaderBytes + 8); // second range starts one slot late
  assertCorrupt(
    t,
    resealed(gap),
    /checksum matches, but the map range 1 .* leaves slots 8192-8192 without a group/,
  );
  const hugeEpoch = encodeSlotMap(evenSlotMap(2));
  hugeEpoch.writeBigUInt64LE(2n ** 53n, 8);
  assertCorrupt(t, resealed(hugeEpoch), /epoch 9007199254740992 is not a safe integer/);
});

test("decoding reads a map out of a larger buffer", (t) => {
  const map: SlotMap = evenSlotMap(5, 9);
  const bytes = encodeSlotMap(map);
  const framed = new Uint8Array(bytes.length + 7);
  framed.set(bytes, 3);
  t.deepEqual(decodeSlotMap(framed.subarray(3, 3 + bytes.length), source), map);
});

test("encoding an invalid map is a bug", (t) => {
  t.throws(() => encodeSlotMap({ epoch: 1, ranges: [] }), { name: "AssertionError" });
});
