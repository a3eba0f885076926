// Reads one block (layout in block-format.ts): checks the trailer, then
// answers point lookups by binary search over the restart points and scans
// with a cursor that rebuilds prefix-compressed keys in a reused buffer.
// Pure, no fs. A malformed block raises FormatDefect with the offset inside
// the block; callers add the file and the block's offset.

import { crc32c, unmaskCrc } from "../util/crc32c.js";
import { BlockType, blockTrailerBytes, restartsMax } from "./block-format.js";
import { FormatDefect } from "./corruption-error.js";
import { EntryKind } from "./entry-kind.js";
import { compareBytes } from "./keys.js";
import { decoded, readFixed32, readVarint } from "./varint.js";

/**
 * Checks the trailer of the block stored at bytes[start, start + size +
 * trailer) and returns its contents (a view). Throws FormatDefect with
 * offsets relative to `start`.
 */
export function verifyBlock(bytes: Uint8Array, start: number, size: number): Uint8Array {
  const end = start + size;
  if (end + blockTrailerBytes > bytes.length) {
    throw new FormatDefect(
      0,
      `block of ${size} bytes runs past the ${bytes.length - start} bytes read`,
    );
  }
  const type = bytes[end]!;
  const stored = unmaskCrc(readFixed32(bytes, end + 1));
  const actual = crc32c(bytes, start, end + 1);
  if (stored !== actual) {
    throw new FormatDefect(
      0,
      `block checksum mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`,
    );
  }
  if (type !== BlockType.plain) throw new FormatDefect(size, `unknown block type ${type}`);
  return bytes.subarray(start, end);
}

/** Where an entry's value lies, filled in by lookups (one per thread; read it at once). */
export const found = { kind: EntryKind.value as EntryKind, valueStart: 0, valueEnd: 0 };

export class Block {
  readonly restartsOffset: number;
  readonly restartCount: number;

  constructor(readonly data: Uint8Array) {
    if (data.length < 4)
      throw new FormatDefect(0, `block of ${data.length} bytes has no restart count`);
    const count = readFixed32(data, data.length - 4);
    if (count === 0 || count > restartsMax || 4 + 4 * count > data.length) {
      throw new FormatDefect(
        data.length - 4,
        `bad restart count ${count} for a block of ${data.length} bytes`,
      );
    }
    this.restartCount = count;
    this.restartsOffset = data.length - 4 - 4 * count;
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const restart = readFixed32(data, this.restartsOffset + 4 * i);
      if (
        restart <= previous ||
        restart > this.restartsOffset ||
        (restart === this.restartsOffset && count > 1)
      ) {
        throw new FormatDefect(
          this.restartsOffset + 4 * i,
          `restart ${i} at ${restart} out of order or range`,
        );
      }
      previous = restart;
    }
  }

  get byteLength(): number {
    return this.data.length;
  }

  restart(i: number): number {
    return readFixed32(this.data, this.restartsOffset + 4 * i);
  }

  /**
   * Compares `target` with the full key at restart `i` (shared is 0 there).
   * Sets `restartKey` to the key's bounds.
   */
  compareRestart(i: number, target: Uint8Array, targetStart: number, targetEnd: number): number {
    this.restartKeyBounds(i);
    return compareBytes(
      this.data,
      restartKey.start,
      restartKey.end,
      target,
      targetStart,
      targetEnd,
    );
  }

  /**
   * For blocks with a restart at every entry (index blocks): the first entry
   * whose key is >= target, or restartCount when none is.
   */
  lowerBound(target: Uint8Array, targetStart: number, targetEnd: number): number {
    let low = 0;
    let high = this.restartCount;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareRestart(middle, target, targetStart, targetEnd) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Looks for exactly `key` (a latin1 string): the point-lookup path. Scans
   * the run of the right restart point without rebuilding keys: it tracks
   * how many leading bytes of `key` the current entry matches, and each
   * entry's shared-prefix length tells how the next compares. Returns true
   * and fills `found` when the key is in the block.
   */
  findKey(key: string): boolean {
    const data = this.data;
    const limit = this.restartsOffset;
    let low = 0;
    let high = this.restartCount - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      this.restartKeyBounds(middle);
      if (compareToString(data, restartKey.start, restartKey.end, key, 0) <= 0) low = middle;
      else high = middle - 1;
    }
    // matched: leading bytes of `key` equal to the current entry's key, whose key is < key so far.
    let matched = 0;
    let at = this.restart(low);
    let first = true;
    while (at < limit) {
      const start = at;
      at = readVarint(data, at, limit);
      const shared = decoded.value;
      if (at >= 0) at = readVarint(data, at, limit);
      const unshared = decoded.value;
      if (at >= 0) at = readVarint(data, at, limit);
      const valueField = decoded.value;
      if (at < 0 || at + unshared > limit)
        throw new FormatDefect(start, "entry runs past the block");
      const kind = valueField % 2;
      const valueEnd = at + unshared + (valueField - kind) / 2;
      if (valueEnd > limit) throw new FormatDefect(start, "entry runs past the block");
      if (first || shared === matched) {
        // The entry's key continues exactly where the match stands: compare the rest.
        let i = 0;
        while (
          i < unshared &&
          matched + i < key.length &&
          data[at + i] === key.charCodeAt(matched + i)
        )
          i++;
        if (i === unshared && matched + i === key.length) {
          found.kind = kind as EntryKind;
          found.valueStart = at + unshared;
          found.valueEnd = valueEnd;
          return true;
        }
        // Differs at matched + i: either the entry is past the key (stop) or still before it.
        if (
          i === unshared ||
          (matched + i < key.length && data[at + i]! < key.charCodeAt(matched + i))
        ) {
          matched += i;
        } else {
          return false;
        }
      } else if (shared < matched) {
        // The entry departs from the previous key, which matched the key, at a byte below matched: it is past the key.
        return false;
      }
      // shared > matched: the entry still differs from the key where its predecessor did, below it; go on.
      first = false;
      at = valueEnd;
    }
    return false;
  }

  /** Sets restartKey to the bounds of the full key at restart `i`. */
  private restartKeyBounds(i: number): void {
    const data = this.data;
    const limit = this.restartsOffset;
    let at = readVarint(data, this.restart(i), limit);
    if (at < 0 || decoded.value !== 0)
      throw new FormatDefect(this.restart(i), "restart entry shares a prefix");
    at = readVarint(data, at, limit);
    const unshared = decoded.value;
    at = at < 0 ? -1 : readVarint(data, at, limit);
    if (at < 0 || at + unshared > limit)
      throw new FormatDefect(this.restart(i), "restart entry runs past the block");
    restartKey.start = at;
    restartKey.end = at + unshared;
  }

  /**
   * Looks for exactly `target`. Returns true and fills `found` when an entry
   * with that key is in the block.
   */
  find(target: Uint8Array, targetStart: number, targetEnd: number): boolean {
    // The last restart whose key is <= target: the key, if present, is in its run.
    let low = 0;
    let high = this.restartCount - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.compareRestart(middle, target, targetStart, targetEnd) <= 0) low = middle;
      else high = middle - 1;
    }
    const cursor = scratchCursor;
    cursor.reset(this);
    cursor.seekRestart(low);
    while (cursor.valid) {
      const order = compareBytes(cursor.key, 0, cursor.keyLength, target, targetStart, targetEnd);
      if (order === 0) {
        found.kind = cursor.kind;
        found.valueStart = cursor.valueStart;
        found.valueEnd = cursor.valueEnd;
        return true;
      }
      if (order > 0) return false;
      cursor.next();
    }
    return false;
  }
}

/** memcmp order of bytes [start, end) and the latin1 string `key`. */
function compareToString(
  data: Uint8Array,
  start: number,
  end: number,
  key: string,
  from: number,
): number {
  const length = Math.min(end - start, key.length - from);
  for (let i = 0; i < length; i++) {
    const difference = data[start + i]! - key.charCodeAt(from + i);
    if (difference !== 0) return difference;
  }
  return end - start - (key.length - from);
}

/** Bounds of the key found by Block.compareRestart. */
export const restartKey = { start: 0, end: 0 };

/** Walks the entries of a block in key order. */
export class BlockCursor {
  block: Block | undefined;
  /** The current key is key[0, keyLength). */
  key = new Uint8Array(64);
  keyLength = 0;
  kind: EntryKind = EntryKind.value;
  valueStart = 0;
  valueEnd = 0;
  valid = false;
  /** Offset of the entry after the current one. */
  private nextOffset = 0;

  reset(block: Block): void {
    this.block = block;
    this.valid = false;
    this.keyLength = 0;
  }

  seekToFirst(): void {
    this.seekRestart(0);
  }

  /** Positions at the first entry with key >= target (valid is false when none). */
  seek(target: Uint8Array, targetStart: number, targetEnd: number): void {
    const block = this.block!;
    let low = 0;
    let high = block.restartCount - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (block.compareRestart(middle, target, targetStart, targetEnd) < 0) low = middle;
      else high = middle - 1;
    }
    this.seekRestart(low);
    while (
      this.valid &&
      compareBytes(this.key, 0, this.keyLength, target, targetStart, targetEnd) < 0
    ) {
      this.next();
    }
  }

  seekRestart(i: number): void {
    this.keyLength = 0;
    this.nextOffset = this.block!.restart(i);
    this.next();
  }

  next(): void {
    const block = this.block!;
    const data = block.data;
    const limit = block.restartsOffset;
    const start = this.nextOffset;
    if (start >= limit) {
      this.valid = false;
      return;
    }
    let at = readVarint(data, start, limit);
    const shared = decoded.value;
    if (at >= 0) at = readVarint(data, at, limit);
    const unshared = decoded.value;
    if (at >= 0) at = readVarint(data, at, limit);
    const valueField = decoded.value;
    if (at < 0) throw new FormatDefect(start, "entry header runs past the block");
    if (shared > this.keyLength) {
      throw new FormatDefect(start, `entry shares ${shared} bytes of a ${this.keyLength}-byte key`);
    }
    const kind = valueField % 2;
    const valueLength = (valueField - kind) / 2;
    const keyEnd = at + unshared;
    if (keyEnd + valueLength > limit || keyEnd < at) {
      throw new FormatDefect(start, "entry runs past the block");
    }
    if (kind === EntryKind.deletion && valueLength !== 0) {
      throw new FormatDefect(start, "a deletion carries a value");
    }
    const keyLength = shared + unshared;
    if (keyLength > this.key.length) {
      const grown = new Uint8Array(Math.max(keyLength, this.key.length * 2));
      grown.set(this.key.subarray(0, shared));
      this.key = grown;
    }
    this.key.set(data.subarray(at, keyEnd), shared);
    this.keyLength = keyLength;
    this.kind = kind as EntryKind;
    this.valueStart = keyEnd;
    this.valueEnd = keyEnd + valueLength;
    this.nextOffset = keyEnd + valueLength;
    this.valid = true;
  }
}

const scratchCursor = new BlockCursor();

/** Decodes the block handle stored as an index value: offset and size varints. */
export function decodeHandle(
  data: Uint8Array,
  start: number,
  end: number,
  out: { offset: number; size: number },
): void {
  let at = readVarint(data, start, end);
  out.offset = decoded.value;
  if (at >= 0) at = readVarint(data, at, end);
  out.size = decoded.value;
  if (at !== end) throw new FormatDefect(start, "malformed block handle");
}
