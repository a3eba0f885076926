// Keys are byte strings. Outside the engine and in its metadata a key is a
// JS string in latin1 form: one UTF-16 code unit per byte, each 0..255. Such
// strings compare with < exactly as the bytes compare with memcmp, and V8
// hashes and compares them fast (research notes §4.2). Inside blocks a key
// is bytes; these helpers cross between the two without surprises.

import { assert } from "../util/assert.js";

/** memcmp order of a[aStart, aEnd) and b[bStart, bEnd): negative, 0 or positive. */
export function compareBytes(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const length = Math.min(aLength, bLength);
  for (let i = 0; i < length; i++) {
    const difference = a[aStart + i]! - b[bStart + i]!;
    if (difference !== 0) return difference;
  }
  return aLength - bLength;
}

/** The bytes of a latin1 key, in a Buffer of their own. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, "latin1");
}

// Buffer's own latin1 codecs (what buf.toString("latin1") and buf.write(s,
// "latin1") call), used on any Uint8Array without wrapping it in a Buffer.
interface Latin1Codecs {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  latin1Write(this: Uint8Array, text: string, offset: number, length: number): number;
}
const codecs = Buffer.prototype as unknown as Latin1Codecs;
assert(
  typeof codecs.latin1Slice === "function" && typeof codecs.latin1Write === "function",
  "Buffer latin1 codecs",
);

/** The latin1 string of bytes [start, end). */
export function keyString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return codecs.latin1Slice.call(bytes, start, end);
}

/** Writes `key`'s bytes at `offset`; returns the byte count (key.length). REQUIRES: room. */
export function writeKey(target: Uint8Array, offset: number, key: string): number {
  return codecs.latin1Write.call(target, key, offset, key.length);
}

/** True when every code unit of `key` is a byte (0..255). O(length): for checks and VERIFY. */
export function isLatin1(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 255) return false;
  return true;
}

/** The first index of `sorted` (ascending latin1 keys) whose key is >= key; sorted.length if none. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < key) low = middle + 1;
    else high = middle;
  }
  return low;
}
