// Unsigned LEB128 varints ("varint64" in LevelDB's format docs) for numbers
// up to Number.MAX_SAFE_INTEGER, and the little-endian fixed-width fields the
// formats use. Pure; callers bound-check before reading (a decoder that runs
// off its buffer returns -1 so that format readers can report corruption).

/** Bytes a varint of `value` takes. */
export function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    bytes++;
  }
  return bytes;
}

/** Writes `value` at `offset`; returns the offset after it. REQUIRES: safe integer >= 0, room. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 128) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = value >= 2 ** 31 ? Math.floor(value / 128) : value >>> 7;
  }
  target[offset++] = value;
  return offset;
}

/**
 * Result slot of readVarint: the decoded value is left in `decoded.value`
 * and the next offset returned, so that hot decoders allocate nothing.
 */
export const decoded = { value: 0 };

/**
 * Reads a varint at `offset`, not reading at or past `end`. Returns the
 * offset after it and leaves the value in `decoded.value`; returns -1 when
 * the varint is cut short or longer than a safe integer allows.
 */
export function readVarint(source: Uint8Array, offset: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let shift = 0; shift < 56; shift += 7) {
    if (offset >= end) return -1;
    const byte = source[offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 128) {
      if (value > Number.MAX_SAFE_INTEGER) return -1;
      decoded.value = value;
      return offset;
    }
    scale *= 128;
  }
  return -1;
}

/** Writes a 64-bit little-endian unsigned integer (a safe integer). */
export function writeFixed64(target: Uint8Array, offset: number, value: number): void {
  const low = value >>> 0;
  const high = Math.floor(value / 2 ** 32);
  writeFixed32(target, offset, low);
  writeFixed32(target, offset + 4, high);
}

/** Reads a 64-bit little-endian unsigned integer; -1 when it is not a safe integer. */
export function readFixed64(source: Uint8Array, offset: number): number {
  const low = readFixed32(source, offset);
  const high = readFixed32(source, offset + 4);
  if (high >= 2 ** 21) return -1;
  return high * 2 ** 32 + low;
}

export function writeFixed32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}

export function readFixed32(source: Uint8Array, offset: number): number {
  return (
    (source[offset]! |
      (source[offset + 1]! << 8) |
      (source[offset + 2]! << 16) |
      (source[offset + 3]! << 24)) >>>
    0
  );
}
