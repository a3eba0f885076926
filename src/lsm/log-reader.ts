// Reads a whole log file (format and recovery rule in log-format.ts) and
// returns its records, or throws a CorruptionError naming file and offset.
// Pure: it works on the file's bytes, so tests can flip and cut them.
//
// Decision table for the first bad chunk at offset X (legend: "promised" =
// some valid chunk anywhere in the file says synced > X):
//
//   | what is wrong at X                          | promised | outcome               |
//   |---------------------------------------------|----------|-----------------------|
//   | any defect (CRC, length, type, sequence,    | yes      | CorruptionError at X  |
//   |   header or payload cut by the end of file) |          |                       |
//   | any defect                                  | no       | torn tail: records    |
//   |                                             |          | before X, rest dropped|
//   | none                                        | -        | clean end of file     |
//
// The file header record must come first and match the expected kind and
// file number; a file too short to hold it is an empty, torn log.

import { crc32c, unmaskCrc } from "../util/crc32c.js";
import { CorruptionError } from "./corruption-error.js";
import {
  blockBytes,
  ChunkType,
  fileHeaderBytes,
  headerBytes,
  type LogKind,
  logFormatVersion,
  logMagic,
} from "./log-format.js";
import { readFixed32, readFixed64 } from "./varint.js";

export interface TornTail {
  /** Offset of the first bad chunk. */
  readonly offset: number;
  /** Bytes after the last whole record that were dropped. */
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface LogContents {
  /** Payloads in order, the header record excluded. Views into the file's bytes. */
  readonly records: Buffer[];
  /** File offset of the first chunk of each record. */
  readonly recordOffsets: number[];
  /** Set when the file ends in bytes that were never promised durable. */
  readonly tornTail: TornTail | undefined;
}

interface Defect {
  readonly offset: number;
  readonly reason: string;
}

const chunkTypeNames = ["zero", "full", "first", "middle", "last", "synced"];

export function readLog(
  bytes: Buffer,
  file: string,
  expected: { readonly kind: LogKind; readonly fileNumber: number },
): LogContents {
  const records: Buffer[] = [];
  const recordOffsets: number[] = [];
  let fragments: Buffer[] = [];
  let recordStart = -1;
  let keptEnd = 0;
  let defect: Defect | undefined;
  let promised = 0;
  let position = 0;

  const fail = (offset: number, reason: string): void => {
    if (defect === undefined) defect = { offset, reason };
  };

  while (position < bytes.length && defect === undefined) {
    const blockEnd = position - (position % blockBytes) + blockBytes;
    if (blockEnd - position < headerBytes) {
      position = blockEnd;
      continue;
    }
    const problem = chunkProblem(bytes, position, blockEnd);
    if (problem !== undefined) {
      fail(position, problem);
      break;
    }
    const length = bytes[position + 4]! | (bytes[position + 5]! << 8);
    const type = bytes[position + 6]!;
    const synced = readFixed64(bytes, position + 7);
    const chunkEnd = position + headerBytes + length;
    if (synced > promised) promised = synced;
    if (type === ChunkType.synced) {
      if (recordStart !== -1) fail(recordStart, "record interrupted by a synced marker");
      position = chunkEnd;
      continue;
    }
    const payload = bytes.subarray(position + headerBytes, chunkEnd);
    const startsRecord = type === ChunkType.full || type === ChunkType.first;
    if (startsRecord && recordStart !== -1) {
      fail(recordStart, `record has no last fragment (next chunk is ${chunkTypeNames[type]})`);
    } else if (!startsRecord && recordStart === -1) {
      fail(position, `${chunkTypeNames[type]} chunk outside a record`);
    } else if (type === ChunkType.full) {
      records.push(payload);
      recordOffsets.push(position);
      keptEnd = chunkEnd;
    } else if (type === ChunkType.first) {
      recordStart = position;
      fragments = [payload];
    } else if (type === ChunkType.middle) {
      fragments.push(payload);
    } else {
      fragments.push(payload);
      records.push(Buffer.concat(fragments));
      recordOffsets.push(recordStart);
      fragments = [];
      recordStart = -1;
      keptEnd = chunkEnd;
    }
    position = chunkEnd;
  }
  if (defect !== undefined) promised = Math.max(promised, laterPromise(bytes, position));
  if (defect === undefined && recordStart !== -1) {
    fail(recordStart, "record cut short by the end of the file");
  }
  if (defect !== undefined && defect.offset < promised) {
    throw new CorruptionError(file, defect.offset, `${defect.reason} (synced up to ${promised})`);
  }
  const tornTail =
    defect === undefined
      ? undefined
      : { offset: defect.offset, droppedBytes: bytes.length - keptEnd, reason: defect.reason };
  const header = records.shift();
  recordOffsets.shift();
  if (header !== undefined) checkHeader(header, file, expected);
  return { records, recordOffsets, tornTail };
}

/** Why the chunk at `position` is not a valid chunk, or undefined when it is. */
function chunkProblem(bytes: Buffer, position: number, blockEnd: number): string | undefined {
  if (bytes.length - position < headerBytes) {
    return `chunk header cut short: ${bytes.length - position} of ${headerBytes} bytes`;
  }
  const length = bytes[position + 4]! | (bytes[position + 5]! << 8);
  const type = bytes[position + 6]!;
  const chunkEnd = position + headerBytes + length;
  if (type < ChunkType.full || type > ChunkType.synced) return `bad chunk type ${type}`;
  if (type === ChunkType.synced && length !== 0)
    return `synced marker with ${length} payload bytes`;
  if (chunkEnd > blockEnd) return `chunk of ${length} bytes crosses its block end`;
  if (chunkEnd > bytes.length) {
    return `chunk payload cut short: ${bytes.length - position - headerBytes} of ${length} bytes`;
  }
  const synced = readFixed64(bytes, position + 7);
  // A writer can only promise bytes it wrote before this chunk.
  if (synced < 0 || synced > position) return `chunk promises synced offset ${synced}`;
  const stored = unmaskCrc(readFixed32(bytes, position));
  const actual = crc32c(bytes, position + 6, chunkEnd);
  if (stored !== actual) {
    return `chunk checksum mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`;
  }
  return undefined;
}

/**
 * The highest promise of any valid chunk after a defect. The defect may
 * have garbled lengths, so chunks are looked for at every byte (the cheap
 * checks of chunkProblem reject almost every position before its CRC).
 */
function laterPromise(bytes: Buffer, from: number): number {
  let promised = 0;
  let position = from;
  while (position + headerBytes <= bytes.length) {
    const blockEnd = position - (position % blockBytes) + blockBytes;
    if (blockEnd - position < headerBytes) {
      position = blockEnd;
      continue;
    }
    if (chunkProblem(bytes, position, blockEnd) !== undefined) {
      position++;
      continue;
    }
    promised = Math.max(promised, readFixed64(bytes, position + 7));
    position += headerBytes + (bytes[position + 4]! | (bytes[position + 5]! << 8));
  }
  return promised;
}

function checkHeader(
  header: Buffer,
  file: string,
  expected: { readonly kind: LogKind; readonly fileNumber: number },
): void {
  const at = headerBytes;
  if (header.length !== fileHeaderBytes) {
    throw new CorruptionError(
      file,
      at,
      `file header has ${header.length} bytes, expected ${fileHeaderBytes}`,
    );
  }
  if (!header.subarray(0, 8).equals(logMagic)) {
    throw new CorruptionError(file, at, `bad magic ${header.subarray(0, 8).toString("hex")}`);
  }
  const version = readFixed32(header, 8);
  if (version !== logFormatVersion) {
    throw new CorruptionError(
      file,
      at + 8,
      `unknown log format version ${version}, expected ${logFormatVersion}`,
    );
  }
  if (header[12] !== expected.kind) {
    throw new CorruptionError(file, at + 12, `log kind ${header[12]}, expected ${expected.kind}`);
  }
  const fileNumber = readFixed64(header, 13);
  if (fileNumber !== expected.fileNumber) {
    throw new CorruptionError(
      file,
      at + 13,
      `file number ${fileNumber}, expected ${expected.fileNumber}`,
    );
  }
}
