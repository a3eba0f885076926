// Recovery of the shared Raft log: reads every segment in order, checks each
// record, and rebuilds every group's durable state.
//
// Decision table for a record that fails its checks (short header, length
// past the end of the file, CRC mismatch, malformed body):
//
//   where                       | a valid record follows? | outcome
//   ----------------------------+-------------------------+--------------------------------
//   last segment                | no                      | torn tail: truncated, reported
//   last segment                | yes                     | corruption error (file, offset)
//   any earlier segment         | either                  | corruption error (file, offset)
//   segment header (last, short)| -                       | torn: the segment is recreated
//   segment header otherwise    | -                       | corruption error (file, offset 0)
//
// A torn tail can only hold bytes written after the last sync, which no one
// was told about, so dropping them loses nothing acknowledged. Anything
// else is damage to acknowledged data: reported, never served.

import type { FileSystem } from "../../fs/file-system.js";
import { joinPath } from "../../fs/file-system.js";
import { crc32c, unmaskCrc } from "../../util/crc32c.js";
import { MemraftError } from "../../util/errors.js";
import type { Entry, HardState } from "../types.js";
import {
  decodeRecordBody,
  formatVersion,
  type LogRecord,
  parseSegmentName,
  RecordType,
  readU64,
  recordBodyBytesMax,
  recordHeaderBytes,
  segmentHeaderBytes,
  segmentMagic,
} from "./log-format.js";

export class LogCorruptionError extends MemraftError {
  constructor(file: string, offset: number, reason: string) {
    super("ERR_CORRUPTION", `raft log ${file} at offset ${offset}: ${reason}`, {
      file,
      offset,
      reason,
    });
    this.name = "LogCorruptionError";
  }
}

/** One group's durable state as recovered. */
export interface RecoveredGroup {
  hardState: HardState;
  /** Entries after (offset, offsetTerm). */
  offset: number;
  offsetTerm: number;
  entries: Entry[];
}

export interface RecoveredSegment {
  readonly number: number;
  readonly path: string;
  /** Bytes up to the end of the last good record. */
  readonly validBytes: number;
  /** Highest entry index written per group in this segment. */
  readonly maxIndexes: Map<number, number>;
}

export interface Recovery {
  readonly groups: Map<number, RecoveredGroup>;
  readonly segments: RecoveredSegment[];
  /** A torn tail dropped from the last segment, if any. */
  readonly torn:
    | {
        readonly file: string;
        readonly offset: number;
        readonly droppedBytes: number;
        readonly reason: string;
      }
    | undefined;
}

export async function recoverLog(fs: FileSystem, directory: string): Promise<Recovery> {
  const numbers = (await fs.list(directory))
    .map(parseSegmentName)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const groups = new Map<number, RecoveredGroup>();
  const segments: RecoveredSegment[] = [];
  let torn: Recovery["torn"];
  const gaps = new Map<number, { path: string; offset: number }>();
  for (let i = 0; i < numbers.length; i++) {
    const number = numbers[i]!;
    const path = joinPath(directory, `${String(number).padStart(8, "0")}.log`);
    const isLast = i === numbers.length - 1;
    const data = await fs.readFile(path);
    const scan = scanSegment(path, number, data, isLast);
    const maxIndexes = new Map<number, number>();
    const segment = { number, path, validBytes: scan.validBytes, maxIndexes };
    segments.push(segment);
    for (const { record } of scan.records) {
      applyRecord(groups, gaps, record, path, scan.offsets);
      if (record.type === RecordType.remove) {
        // The removed group's old entries pin no segment any more.
        for (const earlier of segments) earlier.maxIndexes.delete(record.groupId);
        continue;
      }
      if (record.type !== RecordType.entries) continue;
      const last = record.entries[record.entries.length - 1];
      if (last !== undefined)
        maxIndexes.set(record.groupId, Math.max(maxIndexes.get(record.groupId) ?? 0, last.index));
    }
    if (scan.validBytes < data.length) {
      torn = {
        file: path,
        offset: scan.validBytes,
        droppedBytes: data.length - scan.validBytes,
        reason: scan.tornReason,
      };
    }
  }
  for (const [groupId, gap] of gaps) {
    const group = groups.get(groupId)!;
    const first = group.entries[0];
    if (first !== undefined && first.index !== group.offset + 1) {
      throw new LogCorruptionError(
        gap.path,
        gap.offset,
        `group ${groupId}: entries start at ${first.index}, compacted to ${group.offset}`,
      );
    }
  }
  return { groups, segments, torn };
}

interface Scan {
  records: { record: LogRecord; offset: number }[];
  offsets: Map<LogRecord, number>;
  validBytes: number;
  tornReason: string;
}

function scanSegment(path: string, number: number, data: Buffer, isLast: boolean): Scan {
  const scan: Scan = { records: [], offsets: new Map(), validBytes: 0, tornReason: "" };
  const headerProblem = checkHeader(data, number);
  if (headerProblem !== undefined) {
    if (isLast && data.length < segmentHeaderBytes) {
      scan.tornReason = headerProblem;
      return scan;
    }
    throw new LogCorruptionError(path, 0, headerProblem);
  }
  let at = segmentHeaderBytes;
  while (at < data.length) {
    const parsed = parseRecordAt(data, at);
    if (typeof parsed === "string") {
      if (isLast && !validRecordAfter(data, at + 1)) {
        scan.tornReason = parsed;
        break;
      }
      throw new LogCorruptionError(path, at, parsed);
    }
    scan.records.push({ record: parsed.record, offset: at });
    scan.offsets.set(parsed.record, at);
    at = parsed.end;
  }
  scan.validBytes = Math.min(at, data.length);
  if (scan.tornReason === "") scan.validBytes = data.length;
  return scan;
}

function checkHeader(data: Buffer, number: number): string | undefined {
  if (data.length < segmentHeaderBytes)
    return `segment header is ${data.length} bytes, expected ${segmentHeaderBytes}`;
  if (data.readUInt32LE(0) !== segmentMagic)
    return `bad magic 0x${data.readUInt32LE(0).toString(16)}`;
  if (unmaskCrc(data.readUInt32LE(16)) !== crc32c(data, 0, 16))
    return "segment header checksum mismatch";
  if (data.readUInt32LE(4) !== formatVersion)
    return `unsupported version ${data.readUInt32LE(4)}, expected ${formatVersion}`;
  if (readU64(data, 8) !== number)
    return `header names segment ${readU64(data, 8)}, file name says ${number}`;
  return undefined;
}

function parseRecordAt(data: Buffer, at: number): { record: LogRecord; end: number } | string {
  if (at + recordHeaderBytes > data.length) return `record header cut at ${data.length - at} bytes`;
  const length = data.readUInt32LE(at);
  if (length > recordBodyBytesMax) return `record length ${length} exceeds ${recordBodyBytesMax}`;
  const end = at + recordHeaderBytes + length;
  if (end > data.length) return `record of ${length} bytes runs past the end of the file`;
  if (unmaskCrc(data.readUInt32LE(at + 4)) !== crc32c(data, at + 8, end))
    return "record checksum mismatch";
  const record = decodeRecordBody(
    data.readUInt8(at + 8),
    data.subarray(at + recordHeaderBytes, end),
  );
  return typeof record === "string" ? record : { record, end };
}

function validRecordAfter(data: Buffer, from: number): boolean {
  for (let at = from; at + recordHeaderBytes <= data.length; at++) {
    const length = data.readUInt32LE(at);
    if (length === 0 || at + recordHeaderBytes + length > data.length) continue;
    if (typeof parseRecordAt(data, at) !== "string") return true;
  }
  return false;
}

function groupState(groups: Map<number, RecoveredGroup>, groupId: number): RecoveredGroup {
  let group = groups.get(groupId);
  if (group === undefined) {
    group = { hardState: { term: 0, vote: 0, commit: 0 }, offset: 0, offsetTerm: 0, entries: [] };
    groups.set(groupId, group);
  }
  return group;
}

function applyRecord(
  groups: Map<number, RecoveredGroup>,
  gaps: Map<number, { path: string; offset: number }>,
  record: LogRecord,
  path: string,
  offsets: Map<LogRecord, number>,
): void {
  if (record.type === RecordType.remove) {
    groups.delete(record.groupId);
    gaps.delete(record.groupId);
    return;
  }
  const group = groupState(groups, record.groupId);
  switch (record.type) {
    case RecordType.hardState:
      group.hardState = record.hardState;
      return;
    case RecordType.truncate:
      group.entries = group.entries.filter((entry) => entry.index < record.fromIndex);
      return;
    case RecordType.compact:
      // Segment checkpoints repeat old compaction points: only forward moves count.
      if (record.index <= group.offset) return;
      group.entries = group.entries.filter((entry) => entry.index > record.index);
      group.offset = record.index;
      group.offsetTerm = record.term;
      return;
    case RecordType.entries: {
      const fresh = record.entries.filter((entry) => entry.index > group.offset);
      const first = fresh[0];
      if (first === undefined) return;
      group.entries = group.entries.filter((entry) => entry.index < first.index);
      const expected = (group.entries[group.entries.length - 1]?.index ?? group.offset) + 1;
      // Entries of deleted (fully compacted) segments are missing before the
      // compact record that allowed the deletion; checked after the scan.
      if (first.index > expected && group.entries.length === 0) {
        gaps.set(record.groupId, { path, offset: offsets.get(record) ?? 0 });
      } else if (first.index !== expected) {
        throw new LogCorruptionError(
          path,
          offsets.get(record) ?? 0,
          `group ${record.groupId}: entry ${first.index} after ${expected - 1}`,
        );
      }
      group.entries.push(...fresh);
    }
  }
}
