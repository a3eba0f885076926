// The LSM engine: an embeddable ordered key-value store. It knows nothing of
// memcached or Raft; its owner's hooks are generic: an applied index per
// write batch (recorded by the flushes that cover it) and a compaction
// filter (options.ts).
//
//   write -> [commit pipeline: WAL group commit] -> memtable
//   memtable full -> frozen -> flush job (worker builds the SST) -> L0
//   L0 / level sizes -> compaction jobs (worker merges) -> L1..Ln
//   get -> memtable, frozen memtables, L0 newest first, one file per level
//
// The main thread does the I/O (through the FileSystem) and the bookkeeping;
// sorting, merging, block building and checksumming run in the job executor
// (a worker thread by default). Cached reads are answered without I/O.
//
// Durability: with the WAL, a write is acknowledged once its group is
// written (sync: false: it survives a process crash) or written and
// fdatasynced (sync: true: it survives power loss). Without the WAL (under
// Raft) writes are in memory until a flush, and flushedAppliedIndex says
// which applied index the files cover. A flush and a compaction make their
// files durable (file fsync, directory fsync) before the manifest edit that
// names them is logged and fsynced; files are deleted only after that.
//
// Backpressure never blocks the event loop: when level 0 holds
// level0StopWritesFiles files, or the memtables are all full, writes are
// refused with ERR_QUEUE_FULL; whenWritable() says when to try again.

import { makeDirectoryDurably } from "../fs/durable-file.js";
import { type FileSystem, joinPath } from "../fs/file-system.js";
import { AssertionError, assert } from "../util/assert.js";
import { ConfigError, MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import type { Block } from "./block-reader.js";
import { found } from "./block-reader.js";
import { bloomHashString } from "./bloom.js";
import { CommitPipeline, type QueuedWrite } from "./commit-pipeline.js";
import { type CompactionContext, runCompaction } from "./compaction-job.js";
import {
  type CompactionPick,
  levelScores,
  pickCompaction,
  pickManualCompaction,
} from "./compaction-picker.js";
import { FormatDefect } from "./corruption-error.js";
import { EntryKind } from "./entry-kind.js";
import { type JobExecutor, JobPriority, WorkerExecutor } from "./executor.js";
import { parseFileName, sstName, walName } from "./file-names.js";
import { commitQueueBytesMax } from "./limits.js";
import { LogKind } from "./log-format.js";
import { LogWriter } from "./log-writer.js";
import { ManifestWriter } from "./manifest.js";
import { Memtable } from "./memtable.js";
import { type EngineOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import {
  levelSource,
  MemtableSource,
  mergeSources,
  type ScanEntry,
  type ScanSource,
  tableSource,
} from "./scan.js";
import type { SstReader } from "./sst-reader.js";
import { TableCache } from "./table-cache.js";
import { tableOptionsOf, writeTableFile } from "./table-file.js";
import type { FileMetadata, Version } from "./version.js";
import { emptyEdit, type TableFile } from "./version-edit.js";
import { VersionSet } from "./version-set.js";
import { recoverWals } from "./wal-recovery.js";
import type { JobResponse } from "./worker-protocol.js";
import { encodeBatch, WriteBatch } from "./write-batch.js";

export interface WriteOptions {
  /** Acknowledge only once the write is fdatasynced (with the WAL). */
  readonly sync?: boolean;
}

/** Keys in [start, end); either bound may be left out. */
export interface ScanRange {
  readonly start?: string;
  readonly end?: string;
}

export interface CheckpointResult {
  /** The applied index the checkpoint's files cover (-1 if none was recorded). */
  readonly appliedIndex: number;
  readonly fileCount: number;
}

export interface LevelStats {
  readonly level: number;
  readonly files: number;
  readonly bytes: number;
  /** >= 1 means the level is due for compaction. */
  readonly score: number;
}

export interface EngineStats {
  readonly levels: readonly LevelStats[];
  readonly memtableBytes: number;
  readonly immutableMemtables: number;
  /** Key and value bytes written by callers. */
  readonly userBytesWritten: number;
  readonly walBytesWritten: number;
  readonly walSyncs: number;
  readonly flushes: number;
  readonly flushBytesWritten: number;
  readonly compactions: number;
  readonly trivialMoves: number;
  readonly compactionBytesRead: number;
  readonly compactionBytesWritten: number;
  /** SST bytes written (flushes and compactions) per user byte written. */
  readonly writeAmplification: number;
  readonly blockCache: {
    readonly hits: number;
    readonly misses: number;
    readonly hitRate: number;
    readonly usedBytes: number;
    readonly capacityBytes: number;
  };
  readonly tableCache: { readonly open: number; readonly hits: number; readonly misses: number };
  readonly stalls: {
    readonly refusedWrites: number;
    readonly stalledMs: number;
    readonly stalled: boolean;
  };
  readonly flushedAppliedIndex: number;
  readonly lastAppliedIndex: number;
}

const resolvedVoid = Promise.resolve();
/** Probe outcomes besides a value (Buffer) or a deletion (null). */
const notHere = Symbol("not in this file");
const needsIo = Symbol("needs I/O");

/** Directories open in this process, per file system: one engine per directory. */
const openDirectories = new WeakMap<FileSystem, Set<string>>();

function lock(fs: FileSystem, directory: string): void {
  let open = openDirectories.get(fs);
  if (open === undefined) {
    open = new Set();
    openDirectories.set(fs, open);
  }
  if (open.has(directory))
    throw new ConfigError(`LSM engine: ${directory} is already open in this process`);
  open.add(directory);
}

function unlock(fs: FileSystem, directory: string): void {
  openDirectories.get(fs)?.delete(directory);
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class LsmEngine {
  private readonly fs: FileSystem;
  private readonly logger: Logger;
  private readonly tableCache: TableCache;
  private readonly executor: JobExecutor;
  private readonly commit: CommitPipeline | undefined;
  private readonly compaction: CompactionContext;
  private mem: Memtable;
  /** Frozen memtables, oldest first, each waiting for its flush. */
  private readonly imms: Memtable[];
  private flushing: Promise<void> | undefined;
  private compacting: Promise<void> | undefined;
  private manualCompaction = false;
  private failure: Error | undefined;
  private state: "open" | "closing" | "closed" = "open";
  private closing: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private readonly removals = new Set<Promise<void>>();
  private lastAppliedIndex: number;
  private readonly counters = {
    userBytes: 0,
    walBytes: 0,
    walSyncs: 0,
    flushes: 0,
    flushBytes: 0,
    compactions: 0,
    trivialMoves: 0,
    compactionBytesRead: 0,
    compactionBytesWritten: 0,
    refusedWrites: 0,
    stalledMs: 0,
    stallStartedAt: -1,
  };

  private constructor(
    readonly directory: string,
    private readonly options: ResolvedOptions,
    private readonly versions: VersionSet,
    recovered: Memtable[],
    private wal: LogWriter | undefined,
    walNumber: number,
  ) {
    this.fs = options.fileSystem;
    this.logger = options.logger.child({ component: "lsm", directory });
    this.imms = recovered;
    for (const memtable of recovered) memtable.freeze();
    this.mem = new Memtable(walNumber);
    this.tableCache = new TableCache(
      this.fs,
      directory,
      options.openTablesMax,
      options.blockCache,
      this.logger,
    );
    this.executor = options.executor ?? WorkerExecutor.acquire();
    this.lastAppliedIndex = Math.max(
      versions.appliedIndex,
      ...recovered.map((memtable) => memtable.maxAppliedIndex),
    );
    this.commit = wal === undefined ? undefined : new CommitPipeline(this.commitHost());
    this.compaction = {
      fs: this.fs,
      directory,
      options,
      versions,
      tableCache: this.tableCache,
      executor: this.executor,
      logger: this.logger,
      stopping: () => this.state !== "open" || this.failure !== undefined,
      newSession: () => this.executor.newSession(),
    };
  }

  /** Opens (or creates) the engine in `directory`, recovering from its manifest and WAL. */
  static async open(directory: string, options: EngineOptions = {}): Promise<LsmEngine> {
    const resolved = resolveOptions(options);
    const fs = resolved.fileSystem;
    lock(fs, directory);
    const fresh: { wal: LogWriter | undefined; number: number } = { wal: undefined, number: 0 };
    try {
      if (!(await fs.exists(directory))) {
        if (!resolved.createIfMissing)
          throw new ConfigError(`LSM engine: ${directory} does not exist`);
        await makeDirectoryDurably(fs, directory);
      }
      const names = await fs.list(directory);
      let recovered: Memtable[] = [];
      let onObsolete = (_file: FileMetadata): void => {};
      const versions = await VersionSet.open(
        fs,
        directory,
        names,
        {
          levelCount: resolved.levelCount,
          createIfMissing: resolved.createIfMissing,
          logger: resolved.logger,
          onObsolete: (file) => onObsolete(file),
        },
        async (state) => {
          recovered = await recoverWals(fs, directory, names, state.logNumber, resolved.logger);
          if (resolved.wal) {
            fresh.number = state.nextFileNumber++;
            fresh.wal = await LogWriter.create(
              fs,
              joinPath(directory, walName(fresh.number)),
              LogKind.wal,
              fresh.number,
            );
          }
          // The new manifest's directory sync also makes the new WAL's name durable.
          return recovered[0]?.logNumber ?? (resolved.wal ? fresh.number : state.nextFileNumber);
        },
      );
      const engine = new LsmEngine(
        directory,
        resolved,
        versions,
        recovered,
        fresh.wal,
        fresh.number,
      );
      onObsolete = (file) => engine.removeObsolete(file);
      await engine.removeUnreferenced(await fs.list(directory));
      engine.scheduleWork();
      return engine;
    } catch (error) {
      unlock(fs, directory);
      await fresh.wal?.close().catch((closeError: unknown) => {
        resolved.logger.warn(
          { err: closeError, directory },
          "could not close the new WAL of a failed open",
        );
      });
      throw error;
    }
  }

  /** The highest applied index the table files cover: what survives a crash without a WAL. */
  get flushedAppliedIndex(): number {
    return this.versions.appliedIndex;
  }

  /** True when a write now would not be refused for backpressure. */
  get writable(): boolean {
    return this.state === "open" && this.failure === undefined && this.stallReason(0) === undefined;
  }

  // ---- writes -------------------------------------------------------------

  put(key: string, value: Uint8Array, options?: WriteOptions): Promise<void> {
    let batch: WriteBatch;
    try {
      batch = new WriteBatch().put(key, value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.write(batch, options);
  }

  delete(key: string, options?: WriteOptions): Promise<void> {
    let batch: WriteBatch;
    try {
      batch = new WriteBatch().delete(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.write(batch, options);
  }

  /**
   * Applies `batch` atomically. The batch may be reused once this returns
   * (its bytes are copied). Rejects with ERR_QUEUE_FULL under backpressure,
   * ERR_CLOSED after close, or the error that stopped the engine.
   */
  write(batch: WriteBatch, options: WriteOptions = {}): Promise<void> {
    const refused = this.refusal(batch.entryBytes);
    if (refused !== undefined) return Promise.reject(refused);
    if (batch.count === 0) return resolvedVoid;
    const index = batch.appliedIndex;
    if (index !== undefined) {
      if (!Number.isSafeInteger(index) || index < this.lastAppliedIndex) {
        return Promise.reject(
          new MemraftError(
            "ERR_CONFIG",
            `applied index ${index} is below the last one, ${this.lastAppliedIndex}`,
          ),
        );
      }
      this.lastAppliedIndex = index;
    }
    this.counters.userBytes += batch.userBytes;
    const commit = this.commit;
    if (commit === undefined) {
      const mem = this.mem;
      for (let i = 0; i < batch.count; i++) mem.add(batch.keys[i]!, batch.values[i]);
      if (index !== undefined && index > mem.maxAppliedIndex) mem.maxAppliedIndex = index;
      if (
        mem.bytes >= this.options.memtableBytes &&
        this.imms.length < this.options.immutableMemtablesMax
      ) {
        this.switchMemtable(0);
      }
      return resolvedVoid;
    }
    const payload = encodeBatch(batch);
    const keys = batch.keys.slice();
    const sync = options.sync === true;
    return new Promise((resolve, reject) =>
      commit.enqueue({ payload, keys, sync, resolve, reject }),
    );
  }

  /** Resolves when writes are accepted again (or at once); rejects if the engine stops. */
  async whenWritable(): Promise<void> {
    for (;;) {
      const unusable = this.unusable();
      if (unusable !== undefined) throw unusable;
      if (this.stallReason(0) === undefined) return;
      await this.nextChange();
    }
  }

  // ---- reads --------------------------------------------------------------

  /**
   * The value of `key`, or undefined. The Buffer is a view into engine
   * memory: never changed afterwards, the caller must not change it either.
   * Answered at once, as a value and not a promise, when the memtables,
   * table cache and block cache hold what is needed: the hot read path
   * then costs no microtask. Failures always come as a rejected promise.
   */
  get(key: string): Buffer | undefined | Promise<Buffer | undefined> {
    if (this.state === "closed") return Promise.reject(closedError(this.directory));
    let value = this.mem.get(key);
    for (let i = this.imms.length - 1; value === undefined && i >= 0; i--)
      value = this.imms[i]!.get(key);
    if (value !== undefined) return value === null ? undefined : value;
    return this.getFromTables(key);
  }

  /**
   * Live entries in key order within `range`. The snapshot is taken when
   * iteration starts; end it with break (for await) or return() so that the
   * files it holds can go.
   */
  async *scan(range: ScanRange = {}): AsyncGenerator<ScanEntry> {
    const unusable = this.state === "closed" ? closedError(this.directory) : undefined;
    if (unusable !== undefined) throw unusable;
    const { start, end } = range;
    const version = this.versions.current;
    this.versions.ref(version);
    const sources: ScanSource[] = [];
    for (const memtable of [this.mem, ...this.imms.slice().reverse()]) {
      const sorted = memtable.sortedRange(start, end);
      if (sorted.keys.length > 0)
        sources.push(new MemtableSource(memtable, sorted.keys, sorted.positions));
    }
    for (const file of version.levels[0]!) {
      const below = end !== undefined && file.smallest >= end;
      const above = start !== undefined && file.largest < start;
      if (!below && !above) sources.push(tableSource(this.tableCache, file, start));
    }
    for (let level = 1; level < version.levels.length; level++) {
      const files = version.levels[level]!;
      const first = start === undefined ? 0 : version.findFile(level, start);
      if (first < files.length) sources.push(levelSource(this.tableCache, files, first, start));
    }
    yield* mergeSources(sources, end, () => this.versions.unref(version));
  }

  // ---- maintenance --------------------------------------------------------

  /** Writes every write issued before this call into table files. */
  async flush(): Promise<void> {
    this.throwIfUnusable();
    const commit = this.commit;
    if (commit !== undefined) {
      await commit.barrier(async () => {
        if (!this.mem.empty) await this.rotateWal();
      });
    } else if (!this.mem.empty) {
      this.switchMemtable(0);
    }
    const target = this.imms[this.imms.length - 1];
    if (target === undefined) return;
    this.scheduleWork();
    while (this.imms.includes(target)) {
      this.throwIfUnusable();
      await this.nextChange();
    }
  }

  /** Flushes, then compacts every level into the next, down to the deepest level holding files. */
  async compact(): Promise<void> {
    await this.flush();
    this.manualCompaction = true;
    try {
      while (this.compacting !== undefined) await this.compacting;
      for (let level = 0; ; level++) {
        const deepest = this.deepestLevelWithFiles();
        if (level >= Math.max(1, deepest)) break;
        for (;;) {
          this.throwIfUnusable();
          const pick = pickManualCompaction(this.versions.current, level, this.options);
          if (pick === undefined) break;
          this.startCompaction(pick);
          await this.compacting;
        }
      }
      this.throwIfUnusable();
    } finally {
      this.manualCompaction = false;
      this.scheduleWork();
    }
  }

  /**
   * Makes a consistent copy of the engine in `target` (a new directory) by
   * hard links: flushes, links every table file, and writes a manifest that
   * names them. This is what a Raft snapshot ships.
   */
  async checkpoint(target: string): Promise<CheckpointResult> {
    await this.flush();
    const version = this.versions.current;
    this.versions.ref(version);
    try {
      const snapshot = this.versions.snapshot();
      const manifestNumber = snapshot.nextFileNumber!;
      snapshot.logNumber = manifestNumber;
      snapshot.nextFileNumber = manifestNumber + 1;
      if (await this.fs.exists(target))
        throw new ConfigError(`checkpoint target ${target} already exists`);
      await makeDirectoryDurably(this.fs, target);
      for (const { file } of snapshot.addedFiles) {
        await this.fs.link(
          joinPath(this.directory, sstName(file.number)),
          joinPath(target, sstName(file.number)),
        );
      }
      // create() syncs the manifest, then the directory (making the links durable), then CURRENT.
      const manifest = await ManifestWriter.create(this.fs, target, manifestNumber, snapshot);
      await manifest.close();
      return { appliedIndex: snapshot.appliedIndex ?? -1, fileCount: snapshot.addedFiles.length };
    } finally {
      this.versions.unref(version);
    }
  }

  stats(): EngineStats {
    const version = this.versions.current;
    const scores = levelScores(version, this.options);
    const counters = this.counters;
    const cache = this.tableCache.blockCache;
    const lookups = cache.hits + cache.misses;
    const ongoingStall =
      counters.stallStartedAt >= 0 ? performance.now() - counters.stallStartedAt : 0;
    return {
      levels: version.levels.map((files, level) => ({
        level,
        files: files.length,
        bytes: version.levelBytes(level),
        score: scores[level]!,
      })),
      memtableBytes: this.mem.bytes,
      immutableMemtables: this.imms.length,
      userBytesWritten: counters.userBytes,
      walBytesWritten: counters.walBytes,
      walSyncs: counters.walSyncs,
      flushes: counters.flushes,
      flushBytesWritten: counters.flushBytes,
      compactions: counters.compactions,
      trivialMoves: counters.trivialMoves,
      compactionBytesRead: counters.compactionBytesRead,
      compactionBytesWritten: counters.compactionBytesWritten,
      writeAmplification:
        counters.userBytes === 0
          ? 0
          : (counters.flushBytes + counters.compactionBytesWritten) / counters.userBytes,
      blockCache: {
        hits: cache.hits,
        misses: cache.misses,
        hitRate: lookups === 0 ? 0 : cache.hits / lookups,
        usedBytes: cache.usedBytes,
        capacityBytes: cache.capacityBytes,
      },
      tableCache: {
        open: this.tableCache.openCount,
        hits: this.tableCache.hits,
        misses: this.tableCache.misses,
      },
      stalls: {
        refusedWrites: counters.refusedWrites,
        stalledMs: counters.stalledMs + ongoingStall,
        stalled: this.stallReason(0) !== undefined,
      },
      flushedAppliedIndex: this.versions.appliedIndex,
      lastAppliedIndex: this.lastAppliedIndex,
    };
  }

  /**
   * Stops the engine: refuses new writes, lets queued ones finish, flushes
   * memtables (without a WAL they exist nowhere else), abandons a running
   * compaction, and closes every file.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.state = "closing";
      this.closing = this.shutdown();
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.commit?.drained();
    this.commit?.stop();
    if (!this.mem.empty && this.commit === undefined && this.failure === undefined)
      this.switchMemtable(0);
    while (this.imms.length > 0 && this.failure === undefined) {
      this.scheduleWork();
      if (this.flushing === undefined) break;
      await this.flushing;
    }
    await this.compacting;
    await this.flushing;
    await Promise.all([...this.removals]);
    await this.wal?.close();
    await this.versions.close();
    await this.tableCache.closeAll();
    if (this.options.executor === undefined) this.executor.release();
    unlock(this.fs, this.directory);
    this.state = "closed";
    this.rejectWaiters(closedError(this.directory));
  }

  // ---- write path internals ----------------------------------------------

  private commitHost() {
    const engine = this;
    return {
      async prepareGroup(): Promise<void> {
        if (
          engine.mem.bytes >= engine.options.memtableBytes &&
          engine.imms.length < engine.options.immutableMemtablesMax
        ) {
          await engine.rotateWal();
        }
      },
      get log(): LogWriter {
        return engine.wal!;
      },
      apply(write: QueuedWrite): void {
        engine.mem.addEncoded(write.payload, write.keys);
      },
      fail(error: Error): void {
        engine.fail(error);
      },
      counted(groupBytes: number, synced: boolean): void {
        engine.counters.walBytes += groupBytes;
        if (synced) engine.counters.walSyncs++;
        if (engine.waiters.length > 0) engine.notify();
      },
    };
  }

  /**
   * Starts a new WAL and freezes the memtable. The old log is synced first
   * if it holds unsynced records: a later synced write in the new log must
   * not survive a crash that takes back earlier writes (no holes).
   */
  private async rotateWal(): Promise<void> {
    const number = this.versions.newFileNumber();
    const next = await LogWriter.create(
      this.fs,
      joinPath(this.directory, walName(number)),
      LogKind.wal,
      number,
    );
    await this.fs.syncDirectory(this.directory);
    const old = this.wal!;
    if (old.hasUnsyncedRecords) {
      await old.sync();
      this.counters.walSyncs++;
    }
    await old.appendMarker();
    await old.close();
    this.wal = next;
    this.switchMemtable(number);
  }

  private switchMemtable(logNumber: number): void {
    const frozen = this.mem;
    frozen.freeze();
    this.imms.push(frozen);
    this.mem = new Memtable(logNumber);
    this.scheduleWork();
  }

  private refusal(bytes: number): MemraftError | undefined {
    const unusable = this.unusable();
    if (unusable !== undefined) return unusable;
    const stall = this.stallReason(bytes);
    if (stall === undefined) return undefined;
    this.counters.refusedWrites++;
    if (this.counters.stallStartedAt < 0) {
      this.counters.stallStartedAt = performance.now();
      this.logger.info({ reason: stall }, "write stall begins");
    }
    return new MemraftError("ERR_QUEUE_FULL", `write stall: ${stall}`, {
      directory: this.directory,
    });
  }

  private stallReason(bytes: number): string | undefined {
    const options = this.options;
    const level0 = this.versions.current.levels[0]!.length;
    if (level0 >= options.level0StopWritesFiles) {
      return `level 0 has ${level0} files (limit ${options.level0StopWritesFiles}); writes resume as compaction catches up`;
    }
    const queued = this.commit?.queuedBytes ?? 0;
    if (
      this.mem.bytes + queued >= options.memtableBytes &&
      this.imms.length >= options.immutableMemtablesMax
    ) {
      return `the memtable is full and ${this.imms.length} frozen memtables wait for their flush`;
    }
    if (queued + bytes > commitQueueBytesMax) return `${queued} bytes wait for the write-ahead log`;
    return undefined;
  }

  private unusable(): MemraftError | undefined {
    if (this.state !== "open") return closedError(this.directory);
    const failure = this.failure;
    if (failure === undefined) return undefined;
    const code = MemraftError.is(failure) ? failure.code : "ERR_IO";
    return new MemraftError(
      code,
      `LSM engine stopped after an error: ${failure.message}`,
      { directory: this.directory },
      { cause: failure },
    );
  }

  private throwIfUnusable(): void {
    const unusable = this.unusable();
    if (unusable !== undefined) throw unusable;
  }

  // ---- read path internals -----------------------------------------------

  private getFromTables(key: string): Buffer | undefined | Promise<Buffer | undefined> {
    const version = this.versions.current;
    const hash = bloomHashString(key);
    const candidates = candidateFiles(version, key);
    try {
      for (let i = 0; i < candidates.length; i++) {
        const outcome = this.probeCached(candidates[i]!, key, hash);
        if (outcome === notHere) continue;
        if (outcome === needsIo) return this.getWithIo(version, candidates, i, key, hash);
        return outcome === null ? undefined : outcome;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return undefined;
  }

  /** Looks in one file using only what is open and cached. */
  private probeCached(
    file: FileMetadata,
    key: string,
    hash: number,
  ): Buffer | null | typeof notHere | typeof needsIo {
    const table = this.tableCache.peek(file.number);
    if (table === undefined) return needsIo;
    if (!table.mayContain(hash)) return notHere;
    const ordinal = table.findBlockForKey(key);
    if (ordinal < 0) return notHere;
    const block = table.cachedBlock(ordinal, false);
    if (block === undefined) return needsIo;
    table.countCacheHit();
    return valueIn(block, key, table, ordinal);
  }

  private async getWithIo(
    version: Version,
    candidates: readonly FileMetadata[],
    from: number,
    key: string,
    hash: number,
  ): Promise<Buffer | undefined> {
    this.versions.ref(version);
    try {
      for (let i = from; i < candidates.length; i++) {
        const table = await this.tableCache.acquire(candidates[i]!);
        try {
          if (!table.mayContain(hash)) continue;
          const ordinal = table.findBlockForKey(key);
          if (ordinal < 0) continue;
          const block = table.cachedBlock(ordinal) ?? (await table.readBlock(ordinal));
          const outcome = valueIn(block, key, table, ordinal);
          if (outcome !== notHere) return outcome ?? undefined;
        } finally {
          table.unpin();
        }
      }
      return undefined;
    } finally {
      this.versions.unref(version);
    }
  }

  // ---- background work ----------------------------------------------------

  private scheduleWork(): void {
    if (this.failure !== undefined || this.state === "closed") return;
    if (this.flushing === undefined && this.imms.length > 0) {
      this.flushing = this.flushOldest().finally(() => {
        this.flushing = undefined;
        this.afterBackgroundWork();
      });
    }
    if (
      this.compacting === undefined &&
      this.state === "open" &&
      this.options.autoCompactions &&
      !this.manualCompaction
    ) {
      const pick = pickCompaction(
        this.versions.current,
        this.options,
        this.versions.compactPointers,
      );
      if (pick !== undefined) this.startCompaction(pick);
    }
  }

  private afterBackgroundWork(): void {
    this.scheduleWork();
    this.notify();
  }

  private async flushOldest(): Promise<void> {
    const imm = this.imms[0]!;
    let written: TableFile | undefined;
    try {
      const number = this.versions.newFileNumber();
      const response = await this.executor.submit(
        { type: "flush", arena: imm.freeze(), table: tableOptionsOf(this.options) },
        JobPriority.flush,
      );
      if (response.type !== "flushed") throw jobError(response);
      written = await writeTableFile(this.fs, this.directory, number, response.table);
      await this.fs.syncDirectory(this.directory);
      const edit = emptyEdit();
      edit.addedFiles.push({ level: 0, file: written });
      if (imm.logNumber > 0) {
        const next = this.imms[1] ?? this.mem;
        edit.logNumber = next.logNumber > 0 ? next.logNumber : imm.logNumber + 1;
      }
      if (imm.maxAppliedIndex >= 0) edit.appliedIndex = imm.maxAppliedIndex;
      await this.versions.logAndApply(edit);
      written = undefined;
      assert(this.imms[0] === imm, "flushes complete in order");
      this.imms.shift();
      this.counters.flushes++;
      this.counters.flushBytes += edit.addedFiles[0]!.file.fileBytes;
      if (imm.logNumber > 0) this.removeQuietly(walName(imm.logNumber));
      this.options.onFlushed?.(this.versions.appliedIndex);
    } catch (error) {
      if (written !== undefined) this.removeQuietly(sstName(written.number));
      this.fail(error);
    }
  }

  private startCompaction(pick: CompactionPick): void {
    const version = this.versions.current;
    this.versions.ref(version);
    this.compacting = runCompaction(this.compaction, pick, version)
      .then(
        (outcome) => {
          if (!outcome.completed) return;
          if (pick.trivialMove) this.counters.trivialMoves++;
          else this.counters.compactions++;
          this.counters.compactionBytesRead += outcome.bytesRead;
          this.counters.compactionBytesWritten += outcome.bytesWritten;
          this.logger.debug(
            {
              inputLevel: pick.level,
              inputs: pick.inputs.length,
              overlaps: pick.overlaps.length,
              trivialMove: pick.trivialMove,
              ...outcome.counters,
            },
            "compaction done",
          );
        },
        (error: unknown) => this.fail(error),
      )
      .finally(() => {
        this.versions.unref(version);
        this.compacting = undefined;
        this.afterBackgroundWork();
      });
  }

  /** Stops the engine after an operating error. An assertion failure is a bug: it goes on up and crashes. */
  private fail(error: unknown): void {
    if (error instanceof AssertionError) throw error;
    if (this.failure === undefined) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.logger.error({ err: this.failure }, "LSM engine stopped: background work failed");
    }
    this.rejectWaiters(this.unusable()!);
  }

  private deepestLevelWithFiles(): number {
    const levels = this.versions.current.levels;
    for (let level = levels.length - 1; level > 0; level--)
      if (levels[level]!.length > 0) return level;
    return 0;
  }

  // ---- waiting ------------------------------------------------------------

  /** Resolves after the next flush, compaction or commit group; rejects when the engine stops. */
  private nextChange(): Promise<void> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private notify(): void {
    if (this.counters.stallStartedAt >= 0 && this.stallReason(0) === undefined) {
      const stalledMs = performance.now() - this.counters.stallStartedAt;
      this.counters.stalledMs += stalledMs;
      this.counters.stallStartedAt = -1;
      this.logger.info({ stalledMs: Math.round(stalledMs) }, "write stall ends");
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  // ---- files --------------------------------------------------------------

  private removeObsolete(file: FileMetadata): void {
    this.tableCache.evict(file.number);
    this.removeQuietly(sstName(file.number));
  }

  /** Deletes what no manifest state needs: leftovers of crashes and of earlier runs. */
  private async removeUnreferenced(names: readonly string[]): Promise<void> {
    const live = new Set<number>();
    for (const file of this.versions.current.files()) live.add(file.number);
    for (const name of names) {
      const parsed = parseFileName(name);
      if (parsed === undefined) continue;
      const obsolete =
        (parsed.kind === "sst" && !live.has(parsed.number)) ||
        (parsed.kind === "wal" && parsed.number < this.versions.logNumber) ||
        (parsed.kind === "manifest" && parsed.number !== this.versions.manifestNumber) ||
        parsed.kind === "temporary";
      if (obsolete) this.removeQuietly(name);
    }
    await Promise.all([...this.removals]);
  }

  private removeQuietly(name: string): void {
    const path = joinPath(this.directory, name);
    const removal = this.fs.remove(path).then(
      () => {
        this.removals.delete(removal);
      },
      (error: unknown) => {
        this.removals.delete(removal);
        // A file left behind wastes space only: the next open removes it.
        this.logger.warn({ err: error, file: path }, "could not remove an obsolete file");
      },
    );
    this.removals.add(removal);
  }
}

/** Files that may hold `key`, newest first: overlapping level-0 files, then one file per level. */
function candidateFiles(version: Version, key: string): FileMetadata[] {
  const candidates: FileMetadata[] = [];
  for (const file of version.levels[0]!)
    if (file.smallest <= key && key <= file.largest) candidates.push(file);
  for (let level = 1; level < version.levels.length; level++) {
    const files = version.levels[level]!;
    if (files.length === 0) continue;
    const file = files[version.findFile(level, key)];
    if (file !== undefined && file.smallest <= key) candidates.push(file);
  }
  return candidates;
}

/** The value of `key` in block `ordinal` of `table`, null for a deletion, notHere when absent. */
function valueIn(
  block: Block,
  key: string,
  table: SstReader,
  ordinal: number,
): Buffer | null | typeof notHere {
  let present: boolean;
  try {
    present = block.findKey(key);
  } catch (error) {
    // The block passed its checksum yet does not parse: report it, never guess.
    throw error instanceof FormatDefect
      ? error.inFile(table.path, table.blockOffsets[ordinal]!)
      : error;
  }
  if (!present) return notHere;
  if (found.kind === EntryKind.deletion) return null;
  const data = block.data;
  return Buffer.from(
    data.buffer,
    data.byteOffset + found.valueStart,
    found.valueEnd - found.valueStart,
  );
}

function closedError(directory: string): MemraftError {
  return new MemraftError("ERR_CLOSED", `LSM engine ${directory} is closed`, { directory });
}

function jobError(response: JobResponse): Error {
  if (response.type === "failure")
    return new Error(`LSM job failed: ${response.message}\n${response.stack ?? ""}`);
  return new Error(`unexpected LSM job response ${response.type}`);
}
