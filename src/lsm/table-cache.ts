// A bounded cache of open SST files (LevelDB's table cache): each entry
// holds a file handle and the table's parsed index and filter. Least
// recently used tables are closed beyond `capacity`; a table in use (pinned)
// closes when its last reader unpins it.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { Logger } from "../util/logger.js";
import type { BlockCache } from "./block-cache.js";
import { sstName } from "./file-names.js";
import { SstReader } from "./sst-reader.js";

export interface TableRef {
  readonly number: number;
  readonly fileBytes: number;
}

export class TableCache {
  private readonly tables = new Map<number, SstReader>();
  private readonly opening = new Map<number, Promise<SstReader>>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    private readonly capacity: number,
    readonly blockCache: BlockCache,
    private readonly logger: Logger,
  ) {}

  get openCount(): number {
    return this.tables.size;
  }

  /** The open table, if it is open; refreshes its recency. Do not await while using it unpinned. */
  peek(number: number): SstReader | undefined {
    const table = this.tables.get(number);
    if (table !== undefined) {
      this.hits++;
      this.tables.delete(number);
      this.tables.set(number, table);
    }
    return table;
  }

  /** The table, opened if needed, pinned: the caller must unpin it. */
  async acquire(file: TableRef): Promise<SstReader> {
    for (;;) {
      const table = this.peek(file.number) ?? (await this.open(file));
      // Other opens may have pushed it out of the cache while this one waited.
      if (!table.closing) {
        table.pin();
        return table;
      }
    }
  }

  /** Closes a table whose file is going away. */
  evict(number: number): void {
    const table = this.tables.get(number);
    if (table === undefined) return;
    this.tables.delete(number);
    void table.close();
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.opening.values()]);
    const tables = [...this.tables.values()];
    this.tables.clear();
    await Promise.all(tables.map((table) => table.close()));
  }

  private open(file: TableRef): Promise<SstReader> {
    let opening = this.opening.get(file.number);
    if (opening !== undefined) return opening;
    this.misses++;
    const path = joinPath(this.directory, sstName(file.number));
    const onCloseError = (error: unknown, closed: string): void => {
      // A read-only handle that fails to close loses no data; say so and go on.
      this.logger.warn({ err: error, file: closed }, "could not close a table file");
    };
    opening = SstReader.open(
      this.fs,
      path,
      file.number,
      file.fileBytes,
      this.blockCache,
      onCloseError,
    ).then(
      (table) => {
        this.opening.delete(file.number);
        this.tables.set(file.number, table);
        this.trim();
        return table;
      },
      (error: unknown) => {
        this.opening.delete(file.number);
        throw error;
      },
    );
    this.opening.set(file.number, opening);
    return opening;
  }

  private trim(): void {
    while (this.tables.size > this.capacity) {
      const [number, table] = this.tables.entries().next().value as [number, SstReader];
      this.tables.delete(number);
      void table.close();
    }
  }
}
