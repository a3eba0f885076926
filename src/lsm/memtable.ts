// The memtable: the newest writes, in memory, for point lookups and a sorted
// flush. A Map from key (latin1 string) to the position of the key's latest
// record in an append-only arena (research notes §4.3: a Map beats skiplists
// for point access in V8, and memcached needs no ordered reads on the hot path).
//
// The arena is a list of SharedArrayBuffer chunks holding records in write
// order (the entry layout of write-batch.ts). When the memtable is frozen
// the flush worker gets the chunks themselves: shared, neither copied nor
// detached, so reads keep being served from them while the worker sorts.
//
// Invariants:
// - records are never rewritten, and chunks never reused, so a value handed
//   out as a view stays valid and unchanged for as long as it is referenced;
// - a record never straddles two chunks; one larger than a chunk gets a chunk
//   of its own, and the records after it start a new chunk: reading chunks in
//   order, and each from its start, replays the writes in order (flush-build.ts);
// - map.get(k) is the position of the last record written for k.

import { assert } from "../util/assert.js";
import { EntryKind } from "./entry-kind.js";
import { lowerBound } from "./keys.js";
import { memtableChunkBytes, memtableChunksMax } from "./limits.js";
import { decoded, readVarint, varintBytes } from "./varint.js";
import { entryBytes, writeEntry } from "./write-batch.js";

/** A frozen memtable's arena, as sent to the flush worker. */
export interface ArenaSnapshot {
  readonly chunks: readonly SharedArrayBuffer[];
  /** Bytes used in each chunk. */
  readonly chunkBytes: readonly number[];
}

/** Per-entry bytes of the Map and key string, counted toward the memtable's size. */
const entryOverheadBytes = 48;

export class Memtable {
  private readonly map = new Map<string, number>();
  private readonly chunks: SharedArrayBuffer[] = [];
  private readonly views: Buffer[] = [];
  private readonly used: number[] = [];
  /** The chunk small records go to; -1 before the first. */
  private currentIndex = -1;
  private offset = 0;
  /** Where allocate() placed the record being written. */
  private target: Buffer = Buffer.alloc(0);
  private targetOffset = 0;
  private recordBytes = 0;
  private sortedCache: { keys: string[]; positions: number[] } | undefined;
  frozen = false;
  /** Highest applied index of the batches written here; -1 when none carried one. */
  maxAppliedIndex = -1;

  /** @param logNumber the WAL file holding this memtable's writes (0 without a WAL) */
  constructor(readonly logNumber: number) {}

  /** Approximate memory held: records plus the Map's entries. */
  get bytes(): number {
    return this.recordBytes + this.map.size * entryOverheadBytes;
  }

  get entryCount(): number {
    return this.map.size;
  }

  get empty(): boolean {
    return this.recordBytes === 0;
  }

  /** Adds a put (value) or a delete (undefined). REQUIRES: not frozen. */
  add(key: string, value: Uint8Array | undefined): void {
    const kind = value === undefined ? EntryKind.deletion : EntryKind.value;
    const size = entryBytes(kind, key.length, value === undefined ? 0 : value.length);
    const position = this.allocate(size);
    writeEntry(this.target, this.targetOffset, key, value);
    this.map.set(key, position);
  }

  /**
   * Adds every entry of an encoded batch (write-batch.ts), copying each
   * record as it is. `keys` are the batch's keys in order. Returns the
   * batch's applied index, or -1.
   */
  addEncoded(payload: Uint8Array, keys: readonly string[]): number {
    let appliedIndex = -1;
    let at = 1;
    if ((payload[0]! & 1) !== 0) {
      at = readVarint(payload, at, payload.length);
      appliedIndex = decoded.value;
    }
    at = readVarint(payload, at, payload.length);
    assert(at > 0 && decoded.value === keys.length, "encoded batch does not match its keys");
    for (const key of keys) {
      const start = at;
      at += 1 + varintBytes(key.length) + key.length;
      if (payload[start] === EntryKind.value) {
        at = readVarint(payload, at, payload.length);
        at += decoded.value;
      }
      const position = this.allocate(at - start);
      this.target.set(payload.subarray(start, at), this.targetOffset);
      this.map.set(key, position);
    }
    assert(at === payload.length, "encoded batch has trailing bytes");
    if (appliedIndex > this.maxAppliedIndex) this.maxAppliedIndex = appliedIndex;
    return appliedIndex;
  }

  /** Room for a record of `size` bytes at target[targetOffset]; returns its position. */
  private allocate(size: number): number {
    assert(!this.frozen, "memtable is frozen");
    this.recordBytes += size;
    if (size > memtableChunkBytes) {
      const index = this.newChunk(size);
      this.used[index] = size;
      // Later records go to a new chunk: chunk order must stay write order.
      this.currentIndex = -1;
      this.target = this.views[index]!;
      this.targetOffset = 0;
      return index * memtableChunkBytes;
    }
    if (this.currentIndex < 0 || this.offset + size > memtableChunkBytes) {
      this.currentIndex = this.newChunk(memtableChunkBytes);
      this.offset = 0;
    }
    this.target = this.views[this.currentIndex]!;
    this.targetOffset = this.offset;
    this.offset += size;
    this.used[this.currentIndex] = this.offset;
    return this.currentIndex * memtableChunkBytes + this.targetOffset;
  }

  /**
   * The latest record for `key`: its value (a view into the arena), null
   * for a delete, undefined when the memtable has nothing for the key.
   */
  get(key: string): Buffer | null | undefined {
    const position = this.map.get(key);
    if (position === undefined) return undefined;
    return this.valueAt(position, key.length);
  }

  /** Stops writes; the arena can now be read by the flush worker. */
  freeze(): ArenaSnapshot {
    this.frozen = true;
    return { chunks: this.chunks, chunkBytes: this.used };
  }

  /**
   * Keys in [start, end) (either bound optional) in order, with their
   * record positions. O(memtable) for a live memtable; computed once for a
   * frozen one. The arrays belong to the caller only for a live memtable.
   */
  sortedRange(
    start: string | undefined,
    end: string | undefined,
  ): { keys: string[]; positions: number[] } {
    let all = this.sortedCache;
    if (all === undefined) {
      const keys = [...this.map.keys()].sort();
      const positions = keys.map((key) => this.map.get(key)!);
      all = { keys, positions };
      if (this.frozen) this.sortedCache = all;
    }
    if (start === undefined && end === undefined) return all;
    const from = start === undefined ? 0 : lowerBound(all.keys, start);
    const to = end === undefined ? all.keys.length : lowerBound(all.keys, end);
    return { keys: all.keys.slice(from, to), positions: all.positions.slice(from, to) };
  }

  /** The value of the record at `position` for a key of `keyLength` bytes (see get). */
  valueAt(position: number, keyLength: number): Buffer | null {
    const chunk = this.views[Math.floor(position / memtableChunkBytes)]!;
    const offset = position % memtableChunkBytes;
    if (chunk[offset] === EntryKind.deletion) return null;
    const valueLengthAt = offset + 1 + varintBytes(keyLength) + keyLength;
    const valueAt = readVarint(chunk, valueLengthAt, chunk.length);
    assert(valueAt > 0, "memtable record damaged");
    return chunk.subarray(valueAt, valueAt + decoded.value);
  }

  private newChunk(bytes: number): number {
    assert(this.chunks.length < memtableChunksMax, "memtable has too many chunks");
    const chunk = new SharedArrayBuffer(bytes);
    this.chunks.push(chunk);
    this.views.push(Buffer.from(chunk));
    this.used.push(0);
    return this.chunks.length - 1;
  }
}
