// The byte layout of the shared Raft log (one per node, all groups in it),
// shared by the writer and the reader. Little-endian throughout.
//
// Segment file "NNNNNNNN.log" (8 decimal digits, increasing):
//   header, 20 bytes:
//     0  magic    u32  0x4d524c47 ("GLRM" on disk: memraft log; chosen to be
//                      unlike zeros, text and the LSM's magics)
//     4  version  u32  1
//     8  segment  u64  the number in the file name
//    16  crc      u32  masked CRC32C of bytes 0..15
//   then records, back to back:
//     0  length   u32  bytes of `body`
//     4  crc      u32  masked CRC32C of type + body (masked: see util/crc32c.ts)
//     8  type     u8
//     9  body     `length` bytes
//
// Record types (frozen; never renumber, retire with a comment):
//   1 entries     group u32, count u32, then per entry:
//                 index u64, term u64, entryType u8, dataLength u32, data
//   2 hard state  group u32, term u64, vote u32, commit u64
//   3 truncate    group u32, fromIndex u64: entries >= fromIndex are void
//   4 compact     group u32, index u64, term u64: entries <= index are void
//                 (the state machine's snapshot covers them)
//   5 remove      group u32: the group left this node; everything before is
//                 void, and a later record of the group starts it afresh

import { assert } from "../../util/assert.js";
import { crc32c, maskCrc } from "../../util/crc32c.js";
import type { Entry, EntryType, HardState } from "../types.js";

export const segmentMagic = 0x4d524c47;
export const formatVersion = 1;
export const segmentHeaderBytes = 20;
export const recordHeaderBytes = 9;
/** A record body larger than this is corruption, not data. */
export const recordBodyBytesMax = 256 * 1024 * 1024;

export const RecordType = {
  entries: 1,
  hardState: 2,
  truncate: 3,
  compact: 4,
  remove: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export type LogRecord =
  | {
      readonly type: typeof RecordType.entries;
      readonly groupId: number;
      readonly entries: readonly Entry[];
    }
  | {
      readonly type: typeof RecordType.hardState;
      readonly groupId: number;
      readonly hardState: HardState;
    }
  | {
      readonly type: typeof RecordType.truncate;
      readonly groupId: number;
      readonly fromIndex: number;
    }
  | {
      readonly type: typeof RecordType.compact;
      readonly groupId: number;
      readonly index: number;
      readonly term: number;
    }
  | {
      readonly type: typeof RecordType.remove;
      readonly groupId: number;
    };

export function segmentName(segment: number): string {
  return `${String(segment).padStart(8, "0")}.log`;
}

export function parseSegmentName(name: string): number | undefined {
  const match = /^(\d{8})\.log$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export function encodeSegmentHeader(segment: number): Buffer {
  const header = Buffer.alloc(segmentHeaderBytes);
  header.writeUInt32LE(segmentMagic, 0);
  header.writeUInt32LE(formatVersion, 4);
  writeU64(header, 8, segment);
  header.writeUInt32LE(maskCrc(crc32c(header, 0, 16)), 16);
  return header;
}

function writeU64(buffer: Buffer, offset: number, value: number): void {
  assert(
    Number.isSafeInteger(value) && value >= 0,
    () => `log format: ${value} is not a u64 we can hold`,
  );
  buffer.writeUInt32LE(value % 0x1_0000_0000, offset);
  buffer.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

/** A u64 as a number, or undefined if it exceeds Number.MAX_SAFE_INTEGER. */
export function readU64(buffer: Buffer, offset: number): number | undefined {
  const value = buffer.readUInt32LE(offset) + buffer.readUInt32LE(offset + 4) * 0x1_0000_0000;
  return Number.isSafeInteger(value) ? value : undefined;
}

function bodyBytes(record: LogRecord): number {
  switch (record.type) {
    case RecordType.entries: {
      let bytes = 8;
      for (const entry of record.entries) bytes += 21 + entry.data.length;
      return bytes;
    }
    case RecordType.hardState:
      return 24;
    case RecordType.truncate:
      return 12;
    case RecordType.compact:
      return 20;
    case RecordType.remove:
      return 4;
  }
}

/** One framed record, ready to append. */
export function encodeRecord(record: LogRecord): Buffer {
  const length = bodyBytes(record);
  const buffer = Buffer.allocUnsafe(recordHeaderBytes + length);
  buffer.writeUInt32LE(length, 0);
  buffer.writeUInt8(record.type, 8);
  let at = recordHeaderBytes;
  buffer.writeUInt32LE(record.groupId, at);
  at += 4;
  switch (record.type) {
    case RecordType.entries:
      buffer.writeUInt32LE(record.entries.length, at);
      at += 4;
      for (const entry of record.entries) {
        writeU64(buffer, at, entry.index);
        writeU64(buffer, at + 8, entry.term);
        buffer.writeUInt8(entry.type, at + 16);
        buffer.writeUInt32LE(entry.data.length, at + 17);
        buffer.set(entry.data, at + 21);
        at += 21 + entry.data.length;
      }
      break;
    case RecordType.hardState:
      writeU64(buffer, at, record.hardState.term);
      buffer.writeUInt32LE(record.hardState.vote, at + 8);
      writeU64(buffer, at + 12, record.hardState.commit);
      at += 20;
      break;
    case RecordType.truncate:
      writeU64(buffer, at, record.fromIndex);
      at += 8;
      break;
    case RecordType.compact:
      writeU64(buffer, at, record.index);
      writeU64(buffer, at + 8, record.term);
      at += 16;
      break;
    case RecordType.remove:
      break;
  }
  assert(at === buffer.length, "log format: encoded size mismatch");
  buffer.writeUInt32LE(maskCrc(crc32c(buffer, 8, buffer.length)), 4);
  return buffer;
}

/**
 * Decodes a record body whose CRC already matched. Returns a reason string
 * when the body is malformed (which a matching CRC makes a writer bug or
 * deliberate damage: corruption either way).
 */
export function decodeRecordBody(type: number, body: Buffer): LogRecord | string {
  if (body.length < 4) return "record body too short";
  const groupId = body.readUInt32LE(0);
  switch (type) {
    case RecordType.entries:
      return decodeEntries(groupId, body);
    case RecordType.hardState: {
      if (body.length !== 24) return `hard state body of ${body.length} bytes`;
      const term = readU64(body, 4);
      const commit = readU64(body, 16);
      if (term === undefined || commit === undefined) return "hard state value beyond 2^53";
      return { type, groupId, hardState: { term, vote: body.readUInt32LE(12), commit } };
    }
    case RecordType.truncate: {
      const fromIndex = body.length === 12 ? readU64(body, 4) : undefined;
      return fromIndex === undefined ? "bad truncate record" : { type, groupId, fromIndex };
    }
    case RecordType.compact: {
      const index = body.length === 20 ? readU64(body, 4) : undefined;
      const term = body.length === 20 ? readU64(body, 12) : undefined;
      return index === undefined || term === undefined
        ? "bad compact record"
        : { type, groupId, index, term };
    }
    case RecordType.remove:
      return body.length === 4 ? { type, groupId } : `remove body of ${body.length} bytes`;
    default:
      return `unknown record type ${type}`;
  }
}

function decodeEntries(groupId: number, body: Buffer): LogRecord | string {
  if (body.length < 8) return "entries body too short";
  const count = body.readUInt32LE(4);
  const entries: Entry[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (at + 21 > body.length) return `entry ${i} header runs past the record`;
    const index = readU64(body, at);
    const term = readU64(body, at + 8);
    const entryType = body.readUInt8(at + 16);
    const dataLength = body.readUInt32LE(at + 17);
    if (index === undefined || term === undefined) return `entry ${i} index or term beyond 2^53`;
    if (entryType > 1) return `entry ${i} has unknown type ${entryType}`;
    if (at + 21 + dataLength > body.length) return `entry ${i} data runs past the record`;
    const data = new Uint8Array(body.buffer, body.byteOffset + at + 21, dataLength).slice();
    entries.push({ index, term, type: entryType as EntryType, data });
    at += 21 + dataLength;
  }
  if (at !== body.length) return `${body.length - at} bytes after the last entry`;
  return { type: RecordType.entries, groupId, entries };
}
