// Builds one block (layout in block-format.ts). Pure, no fs, no allocation
// per entry once warmed up. REQUIRES: keys strictly ascending.

import { assert } from "../util/assert.js";
import { crc32c, maskCrc } from "../util/crc32c.js";
import { BlockType, blockTrailerBytes } from "./block-format.js";
import type { ByteSink } from "./byte-sink.js";
import { EntryKind } from "./entry-kind.js";
import { writeFixed32, writeVarint } from "./varint.js";

export class BlockBuilder {
  private buffer = new Uint8Array(8192);
  private length = 0;
  private restarts = new Uint32Array(64);
  private restartCount = 0;
  private sinceRestart = 0;
  private lastKey = new Uint8Array(256);
  private lastKeyLength = 0;
  private entries = 0;

  constructor(private readonly restartInterval: number) {
    assert(restartInterval >= 1, "restart interval must be positive");
  }

  get empty(): boolean {
    return this.entries === 0;
  }

  /** Size of the contents if finished now. */
  get estimatedBytes(): number {
    return this.length + 4 * (this.restartCount + (this.entries === 0 ? 1 : 0)) + 4;
  }

  /** The last key added, valid until the next add or reset. */
  lastKeyView(): Uint8Array {
    return this.lastKey.subarray(0, this.lastKeyLength);
  }

  add(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    kind: EntryKind,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): void {
    const keyLength = keyEnd - keyStart;
    const lastKey = this.lastKey;
    const lastKeyLength = this.lastKeyLength;
    // The longest prefix shared with the previous key, which also proves the order.
    let shared = 0;
    if (this.entries > 0) {
      const limit = Math.min(keyLength, lastKeyLength);
      while (shared < limit && lastKey[shared] === key[keyStart + shared]) shared++;
      assert(
        shared < limit ? key[keyStart + shared]! > lastKey[shared]! : keyLength > lastKeyLength,
        "block keys must be strictly ascending",
      );
    }
    if (this.sinceRestart === this.restartInterval || this.entries === 0) {
      this.addRestart();
      shared = 0;
    }
    const valueLength = kind === EntryKind.deletion ? 0 : valueEnd - valueStart;
    const unshared = keyLength - shared;
    const valueField = valueLength * 2 + kind;
    this.reserve(15 + unshared + valueLength);
    const buffer = this.buffer;
    let at = writeVarint(buffer, this.length, shared);
    at = writeVarint(buffer, at, unshared);
    at = writeVarint(buffer, at, valueField);
    copy(key, keyStart + shared, keyEnd, buffer, at);
    at += unshared;
    copy(value, valueStart, valueStart + valueLength, buffer, at);
    this.length = at + valueLength;
    if (keyLength > lastKey.length) {
      const grown = new Uint8Array(Math.max(keyLength, lastKey.length * 2));
      grown.set(lastKey.subarray(0, shared));
      this.lastKey = grown;
    }
    copy(key, keyStart + shared, keyEnd, this.lastKey, shared);
    this.lastKeyLength = keyLength;
    this.sinceRestart++;
    this.entries++;
  }

  /**
   * Appends the finished block and its trailer to `sink` and resets this
   * builder. Returns the contents' size (the handle size; the trailer follows).
   */
  finishInto(sink: ByteSink): number {
    if (this.entries === 0) this.addRestart();
    const contentBytes = this.length + 4 * this.restartCount + 4;
    sink.reserve(contentBytes + blockTrailerBytes);
    const start = sink.length;
    const out = sink.bytes;
    out.set(this.buffer.subarray(0, this.length), start);
    let at = start + this.length;
    for (let i = 0; i < this.restartCount; i++) {
      writeFixed32(out, at, this.restarts[i]!);
      at += 4;
    }
    writeFixed32(out, at, this.restartCount);
    at += 4;
    out[at] = BlockType.plain;
    writeFixed32(out, at + 1, maskCrc(crc32c(out, start, at + 1)));
    sink.length = at + blockTrailerBytes;
    this.reset();
    return contentBytes;
  }

  reset(): void {
    this.length = 0;
    this.restartCount = 0;
    this.sinceRestart = 0;
    this.lastKeyLength = 0;
    this.entries = 0;
  }

  private addRestart(): void {
    if (this.restartCount === this.restarts.length) {
      const grown = new Uint32Array(this.restarts.length * 2);
      grown.set(this.restarts);
      this.restarts = grown;
    }
    this.restarts[this.restartCount++] = this.length;
    this.sinceRestart = 0;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** Copies source[start, end) to target[at...]: a loop for short runs, where set() and its view cost more. */
function copy(
  source: Uint8Array,
  start: number,
  end: number,
  target: Uint8Array,
  at: number,
): void {
  const length = end - start;
  if (length > 32) {
    target.set(source.subarray(start, end), at);
    return;
  }
  for (let i = 0; i < length; i++) target[at + i] = source[start + i]!;
}
