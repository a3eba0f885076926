// Base64 for meta-command keys (`b` flag), with memcached's decoding rules so
// that the same key text means the same key on both servers:
// - bytes outside the alphabet (and '=') are skipped, not rejected;
// - the count of alphabet bytes must be a non-zero multiple of four;
// - decoding stops at the first quartet holding padding; one or two '=' drop
//   one or two output bytes, more is invalid;
// - an empty result is a failure.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const notInAlphabet = 0x80;
const paddingByte = 0x3d;

const decodeTable = new Uint8Array(256).fill(notInAlphabet);
for (let i = 0; i < alphabet.length; i++) decodeTable[alphabet.charCodeAt(i)] = i;
decodeTable[paddingByte] = 0;

/** Decodes bytes [start, end) of `buf`; undefined when memcached would fail. */
export function decodeBase64Key(buf: Buffer, start: number, end: number): Buffer | undefined {
  let symbols = 0;
  for (let i = start; i < end; i++) if (decodeTable[buf[i]!] !== notInAlphabet) symbols++;
  if (symbols === 0 || symbols % 4 !== 0) return undefined;

  const out = Buffer.allocUnsafe((symbols / 4) * 3);
  const quartet = [0, 0, 0, 0];
  let length = 0;
  let filled = 0;
  let padding = 0;
  for (let i = start; i < end; i++) {
    const symbol = decodeTable[buf[i]!]!;
    if (symbol === notInAlphabet) continue;
    if (buf[i] === paddingByte) padding++;
    quartet[filled++] = symbol;
    if (filled < 4) continue;
    const [a, b, c, d] = quartet as [number, number, number, number];
    out[length++] = ((a << 2) | (b >> 4)) & 0xff;
    out[length++] = ((b << 4) | (c >> 2)) & 0xff;
    out[length++] = ((c << 6) | d) & 0xff;
    filled = 0;
    if (padding === 0) continue;
    if (padding > 2) return undefined;
    length -= padding;
    break;
  }
  return length === 0 ? undefined : out.subarray(0, length);
}

/** Standard padded base64 of a latin1 key string. */
export function encodeBase64Key(key: string): string {
  return Buffer.from(key, "latin1").toString("base64");
}
