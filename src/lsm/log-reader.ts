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

const chunkTypeNames = ["zero", "full", "first", "middle", "last"];

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

  while (position < bytes.length) {
    const blockEnd = position - (position % blockBytes) + blockBytes;
    if (blockEnd - position < headerBytes) {
      position = blockEnd;
      continue;
    }
    if (bytes.length - position < headerBytes) {
      fail(position, `chunk header cut short: ${bytes.length - position} of ${headerBytes} bytes`);
      break;
    }
    const storedCrc = readFixed32(bytes, position);
    const length = bytes[position + 4]! | (bytes[position + 5]! << 8);
    const type = bytes[position + 6]!;
    const synced = readFixed64(bytes, position + 7);
    const chunkEnd = position + headerBytes + length;
    if (chunkEnd > blockEnd) {
      fail(position, `chunk of ${length} bytes crosses its block end`);
      position = blockEnd;
      continue;
    }
    if (chunkEnd > bytes.length) {
      fail(
        position,
        `chunk payload cut short: ${bytes.length - position - headerBytes} of ${length} bytes`,
      );
      break;
    }
    const actualCrc = crc32c(bytes, position + 6, chunkEnd);
    if (unmaskCrc(storedCrc) !== actualCrc) {
      fail(
        position,
        `chunk checksum mismatch: stored ${unmaskCrc(storedCrc).toString(16)}, computed ${actualCrc.toString(16)}`,
      );
      position = blockEnd;
      continue;
    }
    if (synced < 0 || synced > position) {
      // A writer can only promise bytes it wrote before this chunk.
      fail(position, `chunk at ${position} promises synced offset ${synced}`);
      position = blockEnd;
      continue;
    }
    if (synced > promised) promised = synced;
    if (defect !== undefined) {
      position = chunkEnd;
      continue;
    }
    const payload = bytes.subarray(position + headerBytes, chunkEnd);
    const startsRecord = type === ChunkType.full || type === ChunkType.first;
    if (startsRecord && recordStart !== -1) {
      fail(recordStart, `record has no last fragment (next chunk is ${chunkTypeNames[type]})`);
    } else if (!startsRecord && recordStart === -1) {
      fail(position, `${chunkTypeNames[type] ?? `type ${type}`} chunk outside a record`);
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
