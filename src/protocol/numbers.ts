// Decimal numbers as memcached reads them: C's strtol/strtoul/strtoull on a
// 64-bit platform followed by memcached's safe_strto* checks (util.c). The
// quirks are kept on purpose, because clients and tests depend on them:
// - leading C whitespace and one sign are allowed, and the number must be
//   followed by whitespace, a NUL or the end of the token;
// - safe_strtol truncates the 64-bit result to int32 (2147483648 -> -2^31,
//   4294967296 -> 0); safe_strtoul truncates to uint32 (flags wrap);
// - a value that does not fit in 64 bits is an error (ERANGE);
// - unsigned parses reject a '-' only when the result looks negative as a
//   signed 64-bit number, so "-0" parses as 0.
// Each function reads bytes [start, end) of `buf` and returns undefined on
// failure. Numbers of up to 15 digits take an allocation-free fast path.

const fastDigitsMax = 15;
const twoTo63 = 1n << 63n;
const twoTo64 = 1n << 64n;

function isCSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

interface Scan {
  negative: boolean;
  digitsStart: number;
  digitsEnd: number;
}

const scan: Scan = { negative: false, digitsStart: 0, digitsEnd: 0 };

/** Finds sign and digits; false when the token is not a well-terminated number. */
function scanNumber(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && isCSpace(buf[i]!)) i++;
  let negative = false;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    negative = buf[i] === 0x2d;
    i++;
  }
  const digitsStart = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  if (i === digitsStart) return false;
  // C strings end at NUL; a stored value read by incr may hold one.
  if (i < end && !isCSpace(buf[i]!) && buf[i] !== 0) return false;
  scan.negative = negative;
  scan.digitsStart = digitsStart;
  scan.digitsEnd = i;
  return true;
}

function digitsAsNumber(buf: Buffer, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + (buf[i]! - 0x30);
  return value;
}

function digitsAsBigInt(buf: Buffer, start: number, end: number): bigint {
  return BigInt(buf.toString("latin1", start, end));
}

/** safe_strtol: a signed 32-bit result, truncated from a signed 64-bit parse. */
export function parseInt32(buf: Buffer, start: number, end: number): number | undefined {
  if (!scanNumber(buf, start, end)) return undefined;
  const { negative, digitsStart, digitsEnd } = scan;
  if (digitsEnd - digitsStart <= fastDigitsMax) {
    const magnitude = digitsAsNumber(buf, digitsStart, digitsEnd);
    return (negative ? -magnitude : magnitude) | 0;
  }
  const magnitude = digitsAsBigInt(buf, digitsStart, digitsEnd);
  if (negative ? magnitude > twoTo63 : magnitude >= twoTo63) return undefined;
  return Number(BigInt.asIntN(32, negative ? -magnitude : magnitude));
}

/** strtoul/strtoull plus the negative-sign check; the full 64-bit result. */
function parseUnsigned64(buf: Buffer, start: number, end: number): bigint | undefined {
  if (!scanNumber(buf, start, end)) return undefined;
  const { negative, digitsStart, digitsEnd } = scan;
  const magnitude = digitsAsBigInt(buf, digitsStart, digitsEnd);
  if (magnitude >= twoTo64) return undefined;
  const value = negative ? (twoTo64 - magnitude) % twoTo64 : magnitude;
  if (negative && value >= twoTo63) return undefined;
  return value;
}

/** safe_strtoul: an unsigned 32-bit result, truncated from a 64-bit parse. */
export function parseUint32(buf: Buffer, start: number, end: number): number | undefined {
  if (end - start <= fastDigitsMax) {
    if (!scanNumber(buf, start, end)) return undefined;
    const magnitude = digitsAsNumber(buf, scan.digitsStart, scan.digitsEnd);
    if (!scan.negative) return magnitude >>> 0;
    return magnitude === 0 ? 0 : undefined;
  }
  const value = parseUnsigned64(buf, start, end);
  return value === undefined ? undefined : Number(BigInt.asUintN(32, value));
}

/** safe_strtoull: an unsigned 64-bit result. */
export function parseUint64(buf: Buffer, start: number, end: number): bigint | undefined {
  if (end - start <= fastDigitsMax) {
    if (!scanNumber(buf, start, end)) return undefined;
    const magnitude = digitsAsNumber(buf, scan.digitsStart, scan.digitsEnd);
    if (!scan.negative) return BigInt(magnitude);
    return magnitude === 0 ? 0n : undefined;
  }
  return parseUnsigned64(buf, start, end);
}
