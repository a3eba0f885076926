// The merge at the heart of a compaction (worker side, pure CPU): k sorted
// input runs, newest first, become sorted output files. Protocol in
// worker-protocol.ts; this module keeps one session's state between steps.
//
// Rules, for each key in ascending order:
// - only its newest version (the entry of the lowest-numbered run) counts;
//   older versions are dropped: nothing can read them once the output is
//   installed (there are no snapshots; scans in progress keep the old files);
// - a deletion is dropped when no file below the output level overlaps the
//   key ("base level", LevelDB's IsBaseLevelForKey): nothing older can then
//   reappear; otherwise it is kept;
// - the owner's filter may reject a value: it is dropped at the base level
//   and replaced by a deletion elsewhere, so that an older version below
//   cannot come back (an expired `set` must not resurrect the previous one).
//
// Output files are cut at the target size and, as in LevelDB, before they
// would overlap too many bytes of the grandparent level (files of the level
// after the output), which bounds the cost of compacting them later.

import { assert } from "../util/assert.js";
import { blockTrailerBytes } from "./block-format.js";
import { Block, BlockCursor, verifyBlock } from "./block-reader.js";
import { FormatDefect } from "./corruption-error.js";
import { EntryKind } from "./entry-kind.js";
import { compareBytes } from "./keys.js";
import { type BuiltTable, SstBuilder } from "./sst-builder.js";
import type { CompactionCounters, CompactionSetup, KeyRange, RunChunk } from "./worker-protocol.js";

/** An input block that fails its checks, located in its file. */
export class InputCorruption extends Error {
  constructor(
    readonly fileNumber: number,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`file ${fileNumber} offset ${offset}: ${reason}`);
    this.name = "InputCorruption";
  }
}

/** A compaction filter: true keeps the entry. */
export type EntryFilter = (key: Uint8Array, value: Uint8Array) => boolean;

const ready = 0;
const starved = 1;
const done = 2;

class RunInput {
  readonly cursor = new BlockCursor();
  state = starved;
  private readonly queue: RunChunk[] = [];
  private chunk: RunChunk | undefined;
  private blockIndex = 0;
  private blockOffset = 0;
  /** File offset of the block under the cursor, for error reports. */
  private blockFileOffset = 0;

  push(chunk: RunChunk): void {
    this.queue.push(chunk);
  }

  /** Moves to the next entry (from starved: the first of the fed chunk); returns the new state. */
  advance(): number {
    this.move();
    return this.state;
  }

  private move(): void {
    if (this.state === ready) {
      this.cursor.next();
      if (this.cursor.valid) return;
    }
    for (;;) {
      const chunk = this.chunk;
      if (chunk !== undefined && this.blockIndex < chunk.blockSizes.length) {
        this.openBlock(chunk);
        if (this.cursor.valid) {
          this.state = ready;
          return;
        }
        continue;
      }
      if (chunk?.last === true) {
        this.state = done;
        return;
      }
      const next = this.queue.shift();
      if (next === undefined) {
        this.state = starved;
        return;
      }
      this.chunk = next;
      this.blockIndex = 0;
      this.blockOffset = 0;
    }
  }

  private openBlock(chunk: RunChunk): void {
    const size = chunk.blockSizes[this.blockIndex]!;
    const start = this.blockOffset;
    this.blockFileOffset = chunk.fileOffset + start;
    try {
      const contents = verifyBlock(chunk.bytes, start, size);
      this.cursor.reset(new Block(contents));
      this.cursor.seekToFirst();
    } catch (error) {
      if (error instanceof FormatDefect) {
        throw new InputCorruption(
          chunk.fileNumber,
          chunk.fileOffset + start + error.offset,
          error.reason,
        );
      }
      throw error;
    }
    this.blockIndex++;
    this.blockOffset = start + size + blockTrailerBytes;
  }

  /** Wraps a defect found while stepping inside the current block. */
  defect(error: FormatDefect): InputCorruption {
    const chunk = this.chunk!;
    return new InputCorruption(chunk.fileNumber, this.blockFileOffset + error.offset, error.reason);
  }
}

export interface StepResult {
  readonly outputs: BuiltTable[];
  readonly need: number;
  readonly counters: CompactionCounters;
}

export class CompactionSession {
  private readonly runs: RunInput[] = [];
  /** Runs in state ready, as a binary min-heap by (key, run number). */
  private readonly heap: number[] = [];
  private builder: SstBuilder | undefined;
  private outputs: BuiltTable[] = [];
  private lastKey = new Uint8Array(256);
  private lastKeyLength = -1;
  private readonly deeperPointers: number[];
  private grandparentIndex = 0;
  private grandparentOverlapBytes = 0;
  private seenKey = false;
  private readonly counters = {
    entriesRead: 0,
    entriesWritten: 0,
    overwrittenDropped: 0,
    deletionsDropped: 0,
    filterDropped: 0,
    filterTombstoned: 0,
  };

  constructor(
    private readonly setup: CompactionSetup,
    private readonly filter: EntryFilter | undefined,
  ) {
    for (let i = 0; i < setup.runCount; i++) this.runs.push(new RunInput());
    this.deeperPointers = setup.deeperLevels.map(() => 0);
  }

  /** REQUIRES: chunks[i] is the first chunk of run i, for every run. */
  begin(chunks: readonly RunChunk[]): StepResult {
    assert(chunks.length === this.runs.length, "one first chunk per run");
    for (let run = 0; run < this.runs.length; run++) {
      this.runs[run]!.push(chunks[run]!);
      this.resume(run);
    }
    return this.step();
  }

  feed(run: number, chunk: RunChunk): StepResult {
    this.runs[run]!.push(chunk);
    this.resume(run);
    return this.step();
  }

  private resume(run: number): void {
    const input = this.runs[run]!;
    if (input.state !== starved) return;
    if (input.advance() === ready) this.heapPush(run);
  }

  private step(): StepResult {
    for (;;) {
      const hungry = this.runs.findIndex((input) => input.state === starved);
      if (hungry !== -1) return this.result(hungry);
      if (this.heap.length === 0) {
        this.finishOutput();
        return this.result(-1);
      }
      const run = this.heap[0]!;
      const input = this.runs[run]!;
      this.take(input.cursor);
      let state: number;
      try {
        state = input.advance();
      } catch (error) {
        if (error instanceof FormatDefect) throw input.defect(error);
        throw error;
      }
      if (state === ready) this.siftDown(0);
      else this.heapPopTop();
    }
  }

  private result(need: number): StepResult {
    const outputs = this.outputs;
    this.outputs = [];
    return { outputs, need, counters: { ...this.counters } };
  }

  /** Decides the fate of the entry under `cursor` (see the rules above). */
  private take(cursor: BlockCursor): void {
    this.counters.entriesRead++;
    const key = cursor.key;
    const keyLength = cursor.keyLength;
    if (
      this.lastKeyLength >= 0 &&
      compareBytes(key, 0, keyLength, this.lastKey, 0, this.lastKeyLength) === 0
    ) {
      this.counters.overwrittenDropped++;
      return;
    }
    if (keyLength > this.lastKey.length) this.lastKey = new Uint8Array(keyLength * 2);
    this.lastKey.set(key.subarray(0, keyLength));
    this.lastKeyLength = keyLength;
    const data = cursor.block!.data;
    if (cursor.kind === EntryKind.deletion) {
      if (this.isBaseLevel(key, keyLength)) this.counters.deletionsDropped++;
      else this.emit(key, keyLength, EntryKind.deletion, data, 0, 0);
      return;
    }
    if (
      this.filter !== undefined &&
      !this.filter(key.subarray(0, keyLength), data.subarray(cursor.valueStart, cursor.valueEnd))
    ) {
      if (this.isBaseLevel(key, keyLength)) {
        this.counters.filterDropped++;
      } else {
        this.counters.filterTombstoned++;
        this.emit(key, keyLength, EntryKind.deletion, data, 0, 0);
      }
      return;
    }
    this.emit(key, keyLength, EntryKind.value, data, cursor.valueStart, cursor.valueEnd);
  }

  private emit(
    key: Uint8Array,
    keyLength: number,
    kind: EntryKind,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): void {
    if (this.builder !== undefined && this.stopBefore(key, keyLength)) this.finishOutput();
    this.builder ??= new SstBuilder(this.setup.table, this.setup.tableFileBytes + 65536);
    this.builder.add(key, 0, keyLength, kind, value, valueStart, valueEnd);
    this.counters.entriesWritten++;
    if (this.builder.estimatedBytes >= this.setup.tableFileBytes) this.finishOutput();
  }

  private finishOutput(): void {
    if (this.builder === undefined || this.builder.empty) return;
    this.outputs.push(this.builder.finish());
    this.builder = undefined;
    this.grandparentOverlapBytes = 0;
  }

  /** True when the output should be cut before `key` to bound grandparent overlap. */
  private stopBefore(key: Uint8Array, keyLength: number): boolean {
    const grandparents = this.setup.grandparents;
    while (
      this.grandparentIndex < grandparents.length &&
      compareKeyToBound(key, keyLength, grandparents[this.grandparentIndex]!.largest) > 0
    ) {
      if (this.seenKey)
        this.grandparentOverlapBytes += grandparents[this.grandparentIndex]!.fileBytes;
      this.grandparentIndex++;
    }
    this.seenKey = true;
    if (this.grandparentOverlapBytes > this.setup.grandparentOverlapBytesMax) {
      this.grandparentOverlapBytes = 0;
      return true;
    }
    return false;
  }

  /** True when no file below the output level may hold `key`. Keys arrive ascending. */
  private isBaseLevel(key: Uint8Array, keyLength: number): boolean {
    const levels = this.setup.deeperLevels;
    for (let level = 0; level < levels.length; level++) {
      const files: readonly KeyRange[] = levels[level]!;
      let pointer = this.deeperPointers[level]!;
      while (
        pointer < files.length &&
        compareKeyToBound(key, keyLength, files[pointer]!.largest) > 0
      ) {
        pointer++;
      }
      this.deeperPointers[level] = pointer;
      if (
        pointer < files.length &&
        compareKeyToBound(key, keyLength, files[pointer]!.smallest) >= 0
      ) {
        return false;
      }
    }
    return true;
  }

  private before(a: number, b: number): boolean {
    const x = this.runs[a]!.cursor;
    const y = this.runs[b]!.cursor;
    const order = compareBytes(x.key, 0, x.keyLength, y.key, 0, y.keyLength);
    return order < 0 || (order === 0 && a < b);
  }

  private heapPush(run: number): void {
    const heap = this.heap;
    heap.push(run);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private heapPopTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  }
}

function compareKeyToBound(key: Uint8Array, keyLength: number, bound: Uint8Array): number {
  return compareBytes(key, 0, keyLength, bound, 0, bound.length);
}
