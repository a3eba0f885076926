// A write batch: puts and deletes applied atomically, with an optional
// caller-supplied applied index (the Raft index it carries; flushes record
// the highest one they cover). Also the WAL record payload format:
//
//   flags u8          bit 0: an applied index follows
//   applied index     varint, when flag bit 0 is set
//   count varint      number of entries
//   entry * count     record layout below (shared with the memtable arena)
//
// entry:
//
//   kind u8           entry-kind.ts
//   key length varint, key bytes
//   value length varint, value bytes     (kind value only)

import { assert } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import { FormatDefect } from "./corruption-error.js";
import { EntryKind } from "./entry-kind.js";
import { isLatin1, keyString, writeKey } from "./keys.js";
import { batchBytesMax, batchOperationsMax, keyBytesMax, valueBytesMax } from "./limits.js";
import { decoded, readVarint, varintBytes, writeVarint } from "./varint.js";

const flagAppliedIndex = 1;

/** Bytes an entry takes in a batch or memtable record. */
export function entryBytes(kind: EntryKind, keyLength: number, valueLength: number): number {
  const head = 1 + varintBytes(keyLength) + keyLength;
  return kind === EntryKind.deletion ? head : head + varintBytes(valueLength) + valueLength;
}

export class WriteBatch {
  /** Keys in latin1 form (keys.ts). */
  readonly keys: string[] = [];
  /** Values; undefined marks a delete. */
  readonly values: (Uint8Array | undefined)[] = [];
  /** The caller's index for this batch (e.g. a Raft log index), recorded by the flush that covers it. */
  appliedIndex: number | undefined;
  /** Encoded entry bytes. */
  private entryByteCount = 0;
  /** Key and value bytes, for write amplification. */
  private userByteCount = 0;

  get count(): number {
    return this.keys.length;
  }

  get entryBytes(): number {
    return this.entryByteCount;
  }

  get userBytes(): number {
    return this.userByteCount;
  }

  put(key: string, value: Uint8Array): this {
    checkKey(key);
    if (value.length > valueBytesMax) {
      throw new MemraftError(
        "ERR_CONFIG",
        `value of ${value.length} bytes exceeds ${valueBytesMax}`,
        {
          valueBytes: value.length,
        },
      );
    }
    this.add(key, value, entryBytes(EntryKind.value, key.length, value.length));
    this.userByteCount += value.length;
    return this;
  }

  delete(key: string): this {
    checkKey(key);
    this.add(key, undefined, entryBytes(EntryKind.deletion, key.length, 0));
    return this;
  }

  clear(): void {
    this.keys.length = 0;
    this.values.length = 0;
    this.appliedIndex = undefined;
    this.entryByteCount = 0;
    this.userByteCount = 0;
  }

  private add(key: string, value: Uint8Array | undefined, bytes: number): void {
    if (this.keys.length >= batchOperationsMax || this.entryByteCount + bytes > batchBytesMax) {
      throw new MemraftError(
        "ERR_CONFIG",
        `write batch exceeds ${batchOperationsMax} operations or ${batchBytesMax} bytes`,
      );
    }
    this.keys.push(key);
    this.values.push(value);
    this.entryByteCount += bytes;
    this.userByteCount += key.length;
  }
}

function checkKey(key: string): void {
  if (key.length === 0 || key.length > keyBytesMax) {
    throw new MemraftError(
      "ERR_CONFIG",
      `key of ${key.length} bytes: keys have 1 to ${keyBytesMax} bytes`,
      {
        keyBytes: key.length,
      },
    );
  }
  // A code unit above 255 would be stored as its low byte: refuse rather than alias another key.
  if (!isLatin1(key))
    throw new MemraftError("ERR_CONFIG", "a key must be a latin1 string (one byte per character)");
}

/** Writes one entry at `offset` of `target`; returns the offset after it. */
export function writeEntry(
  target: Uint8Array,
  offset: number,
  key: string,
  value: Uint8Array | undefined,
): number {
  target[offset++] = value === undefined ? EntryKind.deletion : EntryKind.value;
  offset = writeVarint(target, offset, key.length);
  offset += writeKey(target, offset, key);
  if (value !== undefined) {
    offset = writeVarint(target, offset, value.length);
    target.set(value, offset);
    offset += value.length;
  }
  return offset;
}

/** The WAL record payload of a batch. */
export function encodeBatch(batch: WriteBatch): Buffer {
  const hasIndex = batch.appliedIndex !== undefined;
  const size =
    1 +
    (hasIndex ? varintBytes(batch.appliedIndex!) : 0) +
    varintBytes(batch.count) +
    batch.entryBytes;
  const out = Buffer.allocUnsafe(size);
  out[0] = hasIndex ? flagAppliedIndex : 0;
  let at = hasIndex ? writeVarint(out, 1, batch.appliedIndex!) : 1;
  at = writeVarint(out, at, batch.count);
  for (let i = 0; i < batch.count; i++) at = writeEntry(out, at, batch.keys[i]!, batch.values[i]);
  assert(at === size, "batch encoding size mismatch");
  return out;
}

/** Decodes a WAL record payload; throws FormatDefect with the offset inside it. */
export function decodeBatch(payload: Uint8Array): WriteBatch {
  const batch = new WriteBatch();
  const end = payload.length;
  if (end < 2) throw new FormatDefect(0, `batch of ${end} bytes`);
  const flags = payload[0]!;
  if ((flags & ~flagAppliedIndex) !== 0) throw new FormatDefect(0, `unknown batch flags ${flags}`);
  let at = 1;
  if ((flags & flagAppliedIndex) !== 0) {
    at = readVarint(payload, at, end);
    if (at < 0) throw new FormatDefect(1, "applied index cut short");
    batch.appliedIndex = decoded.value;
  }
  const countAt = at;
  at = readVarint(payload, at, end);
  if (at < 0) throw new FormatDefect(countAt, "entry count cut short");
  const count = decoded.value;
  for (let i = 0; i < count; i++) {
    const start = at;
    const kind = payload[at++];
    if (kind !== EntryKind.value && kind !== EntryKind.deletion) {
      throw new FormatDefect(start, `entry ${i} has unknown kind ${kind}`);
    }
    at = readVarint(payload, at, end);
    const keyLength = decoded.value;
    if (at < 0 || keyLength === 0 || keyLength > keyBytesMax || at + keyLength > end) {
      throw new FormatDefect(start, `entry ${i} key runs past the batch`);
    }
    const key = keyString(payload, at, at + keyLength);
    at += keyLength;
    if (kind === EntryKind.deletion) {
      batch.delete(key);
      continue;
    }
    at = readVarint(payload, at, end);
    const valueLength = decoded.value;
    if (at < 0 || at + valueLength > end)
      throw new FormatDefect(start, `entry ${i} value runs past the batch`);
    batch.put(key, payload.subarray(at, at + valueLength));
    at += valueLength;
  }
  if (at !== end) throw new FormatDefect(at, `${end - at} bytes after the last entry`);
  return batch;
}
