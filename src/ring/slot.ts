// key -> slot: the first of the ring's three mappings (architecture,
// decision 5). A key's slot is farmhash fingerprint64 of its bytes mod
// slotCount. Fixed forever and the same on every machine: fingerprint64 is
// farmhash's platform-independent function (its hash64 is not), and a key is
// hashed as the bytes the client sent.
//
// Pure: no I/O, no state. Keys are latin1 strings (one char per byte, as the
// protocol layer decodes them) or the raw bytes.

import farmhash from "farmhash";
import { slotCount } from "./limits.js";

const slotCountBig = BigInt(slotCount);

/** The slot of a key: an integer in [0, slotCount). */
export function slotOf(key: string | Uint8Array): number {
  return Number(keyFingerprint(key) % slotCountBig);
}

function keyFingerprint(key: string | Uint8Array): bigint {
  if (typeof key !== "string") {
    const bytes = Buffer.isBuffer(key)
      ? key
      : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    return farmhash.fingerprint64(bytes);
  }
  // farmhash hashes a string as UTF-8, which equals the key's latin1 bytes
  // only when every char is below 0x80. That common case (a UTF-8 length
  // equal to the char count) skips the copy; the rest are re-encoded.
  if (Buffer.byteLength(key, "utf8") === key.length) return farmhash.fingerprint64(key);
  return farmhash.fingerprint64(Buffer.from(key, "latin1"));
}
