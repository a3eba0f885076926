// The log record format: every record decodes to what was encoded, and any
// single flipped byte is caught by the checksum.

import test from "ava";
import fc from "fast-check";
import {
  decodeRecordBody,
  encodeRecord,
  type LogRecord,
  RecordType,
  recordHeaderBytes,
} from "../../src/raft/log-storage/log-format.js";
import { crc32c, unmaskCrc } from "../../src/util/crc32c.js";
import { runs } from "../helpers/property.js";

const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const groupId = fc.integer({ min: 0, max: 0xffff_ffff });
const record: fc.Arbitrary<LogRecord> = fc.oneof(
  fc
    .record({
      groupId,
      entries: fc.array(
        fc.record({
          index: u64,
          term: u64,
          type: fc.constantFrom(0 as const, 1 as const),
          data: fc.uint8Array({ maxLength: 40 }),
        }),
        { maxLength: 5 },
      ),
    })
    .map((r) => ({ type: RecordType.entries, ...r })),
  fc
    .record({
      groupId,
      hardState: fc.record({
        term: u64,
        vote: fc.integer({ min: 0, max: 0xffff_ffff }),
        commit: u64,
      }),
    })
    .map((r) => ({ type: RecordType.hardState, ...r })),
  fc.record({ groupId, fromIndex: u64 }).map((r) => ({ type: RecordType.truncate, ...r })),
  fc.record({ groupId, index: u64, term: u64 }).map((r) => ({ type: RecordType.compact, ...r })),
);

const plain = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? [...v] : v));

test("every record decodes to what was encoded", (t) => {
  fc.assert(
    fc.property(record, (r) => {
      const bytes = encodeRecord(r);
      t.is(bytes.readUInt32LE(0), bytes.length - recordHeaderBytes);
      t.is(unmaskCrc(bytes.readUInt32LE(4)), crc32c(bytes, 8, bytes.length));
      return (
        plain(decodeRecordBody(bytes.readUInt8(8), bytes.subarray(recordHeaderBytes))) === plain(r)
      );
    }),
    { numRuns: runs(300) },
  );
});

test("any flipped byte after the length field fails the checksum", (t) => {
  fc.assert(
    fc.property(record, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, position, mask) => {
      const bytes = Buffer.from(encodeRecord(r));
      const at = 4 + (position % (bytes.length - 4));
      bytes[at]! ^= mask;
      return unmaskCrc(bytes.readUInt32LE(4)) !== crc32c(bytes, 8, bytes.length);
    }),
    { numRuns: runs(300) },
  );
  t.pass();
});
