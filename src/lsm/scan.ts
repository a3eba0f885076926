// Ordered scans: a merging iterator (newest source wins on equal keys) over a
// snapshot taken when the scan starts: the memtables' sorted keys and record
// positions (records are immutable, so later writes are not seen) and a
// referenced version (its files stay until the scan ends).
//
// Costs: starting a scan sorts the live memtable's keys, O(memtable); each
// step is O(log sources). Blocks read by a scan do not fill the block cache.

import { type Block, BlockCursor } from "./block-reader.js";
import { EntryKind } from "./entry-kind.js";
import { keyBytes, keyString } from "./keys.js";
import type { Memtable } from "./memtable.js";
import type { SstReader } from "./sst-reader.js";
import type { TableCache } from "./table-cache.js";
import type { FileMetadata } from "./version.js";

export interface ScanEntry {
  readonly key: string;
  readonly value: Buffer;
}

export interface ScanSource {
  valid: boolean;
  key: string;
  /** null for a deletion. */
  value: Buffer | null;
  /** Positions at the first entry >= the scan's start. */
  start(): Promise<void>;
  advance(): Promise<void>;
  close(): void;
}

export class MemtableSource implements ScanSource {
  valid = false;
  key = "";
  value: Buffer | null = null;
  private index = -1;

  constructor(
    private readonly memtable: Memtable,
    private readonly keys: readonly string[],
    private readonly positions: readonly number[],
  ) {}

  async start(): Promise<void> {
    this.move();
  }

  async advance(): Promise<void> {
    this.move();
  }

  close(): void {}

  private move(): void {
    this.index++;
    this.valid = this.index < this.keys.length;
    if (!this.valid) return;
    this.key = this.keys[this.index]!;
    this.value = this.memtable.valueAt(this.positions[this.index]!, this.key.length);
  }
}

/** The entries of one table file from a start key. */
class TableSource implements ScanSource {
  valid = false;
  key = "";
  value: Buffer | null = null;
  private table: SstReader | undefined;
  private ordinal = 0;
  private readonly cursor = new BlockCursor();

  constructor(
    private readonly tableCache: TableCache,
    private readonly file: FileMetadata,
    private readonly from: Uint8Array | undefined,
  ) {}

  async start(): Promise<void> {
    const table = await this.tableCache.acquire(this.file);
    this.table = table;
    this.ordinal = this.from === undefined ? 0 : table.findBlock(this.from);
    if (this.ordinal === -1) return this.close();
    this.cursor.reset(await this.load());
    if (this.from === undefined) this.cursor.seekToFirst();
    else this.cursor.seek(this.from, 0, this.from.length);
    await this.settle();
  }

  async advance(): Promise<void> {
    this.cursor.next();
    await this.settle();
  }

  close(): void {
    this.valid = false;
    this.table?.unpin();
    this.table = undefined;
  }

  /** Moves to the next block while the cursor is past its block's end. */
  private async settle(): Promise<void> {
    while (!this.cursor.valid) {
      this.ordinal++;
      if (this.ordinal >= this.table!.blockCount) return this.close();
      this.cursor.reset(await this.load());
      this.cursor.seekToFirst();
    }
    const cursor = this.cursor;
    this.valid = true;
    this.key = keyString(cursor.key, 0, cursor.keyLength);
    const data = cursor.block!.data;
    this.value =
      cursor.kind === EntryKind.deletion
        ? null
        : Buffer.from(
            data.buffer,
            data.byteOffset + cursor.valueStart,
            cursor.valueEnd - cursor.valueStart,
          );
  }

  private async load(): Promise<Block> {
    const table = this.table!;
    return table.cachedBlock(this.ordinal) ?? (await table.readBlock(this.ordinal, false));
  }
}

/** The files of a level >= 1 (ordered, disjoint), one after another. */
export class LevelSource implements ScanSource {
  valid = false;
  key = "";
  value: Buffer | null = null;
  private index: number;
  private current: TableSource | undefined;

  constructor(
    private readonly tableCache: TableCache,
    private readonly files: readonly FileMetadata[],
    firstIndex: number,
    private readonly from: Uint8Array | undefined,
  ) {
    this.index = firstIndex;
  }

  async start(): Promise<void> {
    await this.open(this.from);
  }

  async advance(): Promise<void> {
    await this.current!.advance();
    if (this.current!.valid) this.copy();
    else {
      this.index++;
      await this.open(undefined);
    }
  }

  close(): void {
    this.current?.close();
    this.valid = false;
  }

  private async open(from: Uint8Array | undefined): Promise<void> {
    while (this.index < this.files.length) {
      this.current = new TableSource(this.tableCache, this.files[this.index]!, from);
      await this.current.start();
      if (this.current.valid) return this.copy();
      this.index++;
    }
    this.valid = false;
  }

  private copy(): void {
    const current = this.current!;
    this.valid = true;
    this.key = current.key;
    this.value = current.value;
  }
}

export function tableSource(
  tableCache: TableCache,
  file: FileMetadata,
  start: string | undefined,
): ScanSource {
  return new TableSource(tableCache, file, start === undefined ? undefined : keyBytes(start));
}

export function levelSource(
  tableCache: TableCache,
  files: readonly FileMetadata[],
  firstIndex: number,
  start: string | undefined,
): ScanSource {
  return new LevelSource(
    tableCache,
    files,
    firstIndex,
    start === undefined ? undefined : keyBytes(start),
  );
}

/**
 * Merges `sources` (index 0 newest) into live entries with keys < end.
 * `release` runs when the scan ends, however it ends.
 */
export async function* mergeSources(
  sources: ScanSource[],
  end: string | undefined,
  release: () => void,
): AsyncGenerator<ScanEntry> {
  const order = (a: number, b: number): boolean => {
    const x = sources[a]!.key;
    const y = sources[b]!.key;
    return x < y || (x === y && a < b);
  };
  const heap: number[] = [];
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && order(heap[right]!, heap[left]!) ? right : left;
      if (!order(heap[child]!, heap[i]!)) return;
      [heap[i], heap[child]] = [heap[child]!, heap[i]!];
      i = child;
    }
  };
  try {
    for (const source of sources) await source.start();
    sources.forEach((source, i) => {
      if (source.valid) heap.push(i);
    });
    for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(i);
    while (heap.length > 0) {
      const key = sources[heap[0]!]!.key;
      if (end !== undefined && key >= end) return;
      const value = sources[heap[0]!]!.value;
      while (heap.length > 0 && sources[heap[0]!]!.key === key) {
        const source = sources[heap[0]!]!;
        await source.advance();
        if (!source.valid) {
          heap[0] = heap[heap.length - 1]!;
          heap.pop();
        }
        siftDown(0);
      }
      if (value !== null) yield { key, value };
    }
  } finally {
    for (const source of sources) source.close();
    release();
  }
}
