// A whole-file bloom filter (like RocksDB's full filters, in LevelDB's
// bits/probes arithmetic): about 10 bits per key give ~1% false positives
// (research notes §1.4). Pure.
//
// Layout:  bit array (n bytes)  probes k (u8)
//
// Probes use double hashing from one 32-bit hash: h, h + delta, h + 2*delta...
// where delta is h rotated by 17 bits (Kirsch & Mitzenmacher).

import { assert } from "../util/assert.js";

/** A 32-bit hash of key bytes (multiply-xorshift over 4-byte words). */
export function bloomHash(key: Uint8Array, start: number, end: number): number {
  let h = hashStart(end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h = hashWord(h, key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24));
  }
  let rest = 0;
  for (let shift = 0; i < end; i++, shift += 8) rest |= key[i]! << shift;
  return hashEnd(h, rest);
}

/** bloomHash of a latin1 key string (keys.ts), without making its bytes. */
export function bloomHashString(key: string): number {
  const end = key.length;
  let h = hashStart(end);
  let i = 0;
  for (; i + 4 <= end; i += 4) {
    h = hashWord(
      h,
      key.charCodeAt(i) |
        (key.charCodeAt(i + 1) << 8) |
        (key.charCodeAt(i + 2) << 16) |
        (key.charCodeAt(i + 3) << 24),
    );
  }
  let rest = 0;
  for (let shift = 0; i < end; i++, shift += 8) rest |= key.charCodeAt(i) << shift;
  return hashEnd(h, rest);
}

const multiplier = 0x5bd1e995;

function hashStart(length: number): number {
  return 0x9747b28c ^ Math.imul(length, multiplier);
}

function hashWord(h: number, word: number): number {
  let w = Math.imul(word, multiplier);
  w ^= w >>> 24;
  return Math.imul(h, multiplier) ^ Math.imul(w, multiplier);
}

function hashEnd(h: number, rest: number): number {
  let x = Math.imul(h ^ rest, multiplier);
  x ^= x >>> 13;
  x = Math.imul(x, multiplier);
  x ^= x >>> 15;
  return x >>> 0;
}

/** Collects key hashes and lays out the filter when the file is finished. */
export class BloomBuilder {
  private hashes = new Uint32Array(1024);
  private count = 0;

  add(hash: number): void {
    if (this.count === this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.count++] = hash;
  }

  finish(bitsPerKey: number): Uint8Array {
    assert(bitsPerKey > 0, "bloom bits per key must be positive");
    const probes = Math.min(30, Math.max(1, Math.round(bitsPerKey * 0.69)));
    const bytes = Math.ceil(Math.max(64, this.count * bitsPerKey) / 8);
    const bits = bytes * 8;
    const filter = new Uint8Array(bytes + 1);
    for (let i = 0; i < this.count; i++) {
      let h = this.hashes[i]!;
      const delta = ((h >>> 17) | (h << 15)) >>> 0;
      for (let j = 0; j < probes; j++) {
        const bit = h % bits;
        filter[bit >>> 3]! |= 1 << (bit & 7);
        h = (h + delta) >>> 0;
      }
    }
    filter[bytes] = probes;
    this.count = 0;
    return filter;
  }
}

/** False only when the key was certainly not added. */
export function bloomMayContain(filter: Uint8Array, hash: number): boolean {
  const bytes = filter.length - 1;
  if (bytes < 1) return true;
  const probes = filter[bytes]!;
  const bits = bytes * 8;
  let h = hash;
  const delta = ((h >>> 17) | (h << 15)) >>> 0;
  for (let j = 0; j < probes; j++) {
    const bit = h % bits;
    if ((filter[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    h = (h + delta) >>> 0;
  }
  return true;
}
