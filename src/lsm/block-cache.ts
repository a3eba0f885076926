// The block cache: parsed, checked data blocks under a byte budget
// (lru-cache). One cache may serve many engines (a node's Raft groups share
// one budget). Keys are numbers: table id * 2^24 + block ordinal, where a
// table id is drawn from this cache when a table is opened, so blocks of a
// deleted file are never found again and simply age out.

import { LRUCache } from "lru-cache";
import { assert } from "../util/assert.js";
import type { Block } from "./block-reader.js";

const ordinalsPerTable = 2 ** 24;
const tableIdsMax = 2 ** 29;
/** Bytes charged per entry beyond the block's own (objects, cache node). */
const entryOverheadBytes = 160;

export class BlockCache {
  private readonly lru: LRUCache<number, Block>;
  private nextTableId = 1;
  hits = 0;
  misses = 0;

  constructor(readonly capacityBytes: number) {
    assert(capacityBytes >= 4096, "block cache needs at least 4 KiB");
    this.lru = new LRUCache<number, Block>({
      maxSize: capacityBytes,
      sizeCalculation: (block) => block.byteLength + entryOverheadBytes,
    });
  }

  /** A fresh id for a table being opened. */
  newTableId(): number {
    const id = this.nextTableId++;
    if (this.nextTableId >= tableIdsMax) this.nextTableId = 1;
    return id;
  }

  /** The block if cached (it becomes the most recently used); `counted` adds it to hits or misses. */
  get(tableId: number, ordinal: number, counted = true): Block | undefined {
    const block = this.lru.get(tableId * ordinalsPerTable + ordinal);
    if (counted) {
      if (block === undefined) this.misses++;
      else this.hits++;
    }
    return block;
  }

  set(tableId: number, ordinal: number, block: Block): void {
    assert(ordinal < ordinalsPerTable, "block ordinal out of range");
    this.lru.set(tableId * ordinalsPerTable + ordinal, block);
  }

  get usedBytes(): number {
    return this.lru.calculatedSize;
  }
}
