// A version edit: one change to the set of live files, as logged in the
// manifest (manifest.ts). Encode and decode live here, with the record layout:
//
//   record := field*
//   field  := tag varint, then the tag's payload:
//
//   tag  name             payload
//   1    log number       varint: WAL files numbered below are obsolete
//   2    next file number varint
//   3    applied index    varint: writes carrying an index <= this are in the files
//   4    compact pointer  level varint, key (length varint + bytes)
//   5    deleted file     level varint, file number varint
//   6    added file       level varint, number varint, file bytes varint,
//                         entry count varint, deletion count varint,
//                         smallest key (length varint + bytes), largest key (same)
//
// Tags are on disk: never renumber; a retired tag stays reserved.

import { FormatDefect } from "./corruption-error.js";
import { keyString, writeKey } from "./keys.js";
import { levelsMax } from "./limits.js";
import { decoded, readVarint, varintBytes, writeVarint } from "./varint.js";

const Tag = {
  logNumber: 1,
  nextFileNumber: 2,
  appliedIndex: 3,
  compactPointer: 4,
  deletedFile: 5,
  addedFile: 6,
} as const;

/** What a manifest knows of a table file. Keys are latin1 strings (keys.ts). */
export interface TableFile {
  readonly number: number;
  readonly fileBytes: number;
  readonly entryCount: number;
  readonly deletionCount: number;
  readonly smallest: string;
  readonly largest: string;
}

export interface VersionEdit {
  logNumber?: number;
  nextFileNumber?: number;
  appliedIndex?: number;
  compactPointers: { level: number; key: string }[];
  deletedFiles: { level: number; number: number }[];
  addedFiles: { level: number; file: TableFile }[];
}

export function emptyEdit(): VersionEdit {
  return { compactPointers: [], deletedFiles: [], addedFiles: [] };
}

export function encodeEdit(edit: VersionEdit): Buffer {
  // Every field is a varint (number) or a length-prefixed key (string):
  // gathered first so that the record is sized, then written in one buffer.
  const fields: (number | string)[] = [];
  if (edit.logNumber !== undefined) fields.push(Tag.logNumber, edit.logNumber);
  if (edit.nextFileNumber !== undefined) fields.push(Tag.nextFileNumber, edit.nextFileNumber);
  if (edit.appliedIndex !== undefined) fields.push(Tag.appliedIndex, edit.appliedIndex);
  for (const pointer of edit.compactPointers)
    fields.push(Tag.compactPointer, pointer.level, pointer.key);
  for (const deleted of edit.deletedFiles)
    fields.push(Tag.deletedFile, deleted.level, deleted.number);
  for (const { level, file } of edit.addedFiles) {
    fields.push(
      Tag.addedFile,
      level,
      file.number,
      file.fileBytes,
      file.entryCount,
      file.deletionCount,
    );
    fields.push(file.smallest, file.largest);
  }
  let size = 0;
  for (const field of fields) {
    size +=
      typeof field === "number" ? varintBytes(field) : varintBytes(field.length) + field.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const field of fields) {
    if (typeof field === "number") {
      at = writeVarint(out, at, field);
    } else {
      at = writeVarint(out, at, field.length);
      at += writeKey(out, at, field);
    }
  }
  return out;
}

/** Decodes a record; throws FormatDefect with the offset inside the record. */
export function decodeEdit(record: Uint8Array): VersionEdit {
  const edit = emptyEdit();
  const end = record.length;
  let at = 0;
  const number = (what: string): number => {
    const start = at;
    at = readVarint(record, at, end);
    if (at < 0) throw new FormatDefect(start, `${what} cut short`);
    return decoded.value;
  };
  const level = (): number => {
    const start = at;
    const value = number("level");
    if (value >= levelsMax) throw new FormatDefect(start, `level ${value} out of range`);
    return value;
  };
  const key = (what: string): string => {
    const length = number(`${what} length`);
    if (at + length > end) throw new FormatDefect(at, `${what} runs past the record`);
    const value = keyString(record, at, at + length);
    at += length;
    return value;
  };
  while (at < end) {
    const tagAt = at;
    const tag = number("tag");
    switch (tag) {
      case Tag.logNumber:
        edit.logNumber = number("log number");
        break;
      case Tag.nextFileNumber:
        edit.nextFileNumber = number("next file number");
        break;
      case Tag.appliedIndex:
        edit.appliedIndex = number("applied index");
        break;
      case Tag.compactPointer:
        edit.compactPointers.push({ level: level(), key: key("compact pointer") });
        break;
      case Tag.deletedFile:
        edit.deletedFiles.push({ level: level(), number: number("deleted file") });
        break;
      case Tag.addedFile: {
        const fileLevel = level();
        const file: TableFile = {
          number: number("file number"),
          fileBytes: number("file bytes"),
          entryCount: number("entry count"),
          deletionCount: number("deletion count"),
          smallest: key("smallest key"),
          largest: key("largest key"),
        };
        if (file.largest < file.smallest)
          throw new FormatDefect(tagAt, `file ${file.number} has largest < smallest`);
        edit.addedFiles.push({ level: fileLevel, file });
        break;
      }
      default:
        throw new FormatDefect(tagAt, `unknown tag ${tag}`);
    }
  }
  return edit;
}
