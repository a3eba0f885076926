// Engine settings: what each means, their defaults (limits.ts) and how they
// must relate. Validated once, when the engine opens (ConfigError).

import type { FileSystem } from "../fs/file-system.js";
import { NodeFileSystem } from "../fs/node-file-system.js";
import { ConfigError } from "../util/errors.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { BlockCache } from "./block-cache.js";
import type { JobExecutor } from "./executor.js";
import { defaults, levelsMax, memtableBytesMax } from "./limits.js";

/** The owner's compaction filter: a module the worker imports (see worker-protocol.ts). */
export interface CompactionFilterOptions {
  /** A file: URL (or absolute path) of an ES module. */
  readonly moduleUrl: string;
  /** Its export: a function (params) => (key: Uint8Array, value: Uint8Array) => boolean (true keeps). */
  readonly exportName: string;
  /** Evaluated on the main thread as each compaction starts; must be structured-cloneable. */
  readonly params: () => unknown;
}

export interface EngineOptions {
  /** Where every byte goes (tests pass the fault file system). Default: node:fs. */
  readonly fileSystem?: FileSystem;
  readonly logger?: Logger;
  /**
   * Keep a write-ahead log. Off under Raft, where the Raft log is the WAL:
   * then writes live only in memory until a flush, and each flush records the
   * highest applied index it covers (flushedAppliedIndex). Default true.
   */
  readonly wal?: boolean;
  /** Create the engine when the directory has none. Default true. */
  readonly createIfMissing?: boolean;
  /** A memtable is frozen and flushed once its records reach this size. */
  readonly memtableBytes?: number;
  /** Frozen memtables waiting for their flush; writes are refused beyond. */
  readonly immutableMemtablesMax?: number;
  /** Level 0 is compacted once it has this many files. */
  readonly level0CompactionFiles?: number;
  /** Writes are refused (ERR_QUEUE_FULL) while level 0 has this many files. */
  readonly level0StopWritesFiles?: number;
  readonly levelCount?: number;
  /** Size target of level 1; each level after is levelBytesMultiplier times larger. */
  readonly level1Bytes?: number;
  readonly levelBytesMultiplier?: number;
  /** Compaction output files are cut at this size. */
  readonly tableFileBytes?: number;
  readonly blockBytes?: number;
  readonly blockRestartInterval?: number;
  readonly bloomBitsPerKey?: number;
  /** A block cache to share (e.g. across a node's groups), or its size in bytes. */
  readonly blockCache?: BlockCache | number;
  /** Table files kept open at most. */
  readonly openTablesMax?: number;
  readonly compactionFilter?: CompactionFilterOptions;
  /** Where flushes and compactions compute. Default: the process's shared worker thread. */
  readonly executor?: JobExecutor;
  /** Start compactions by themselves. Default true; tests turn it off to build states. */
  readonly autoCompactions?: boolean;
  /** Called after each flush is durable, with the applied index the engine now covers (-1 if none). */
  readonly onFlushed?: (flushedAppliedIndex: number) => void;
}

export interface ResolvedOptions {
  readonly fileSystem: FileSystem;
  readonly logger: Logger;
  readonly wal: boolean;
  readonly createIfMissing: boolean;
  readonly memtableBytes: number;
  readonly immutableMemtablesMax: number;
  readonly level0CompactionFiles: number;
  readonly level0StopWritesFiles: number;
  readonly levelCount: number;
  readonly level1Bytes: number;
  readonly levelBytesMultiplier: number;
  readonly tableFileBytes: number;
  readonly blockBytes: number;
  readonly blockRestartInterval: number;
  readonly bloomBitsPerKey: number;
  readonly blockCache: BlockCache;
  readonly openTablesMax: number;
  readonly compactionFilter: CompactionFilterOptions | undefined;
  readonly executor: JobExecutor | undefined;
  readonly autoCompactions: boolean;
  readonly onFlushed: ((flushedAppliedIndex: number) => void) | undefined;
}

export function resolveOptions(options: EngineOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    fileSystem: options.fileSystem ?? new NodeFileSystem(),
    logger: options.logger ?? silentLogger,
    wal: options.wal ?? true,
    createIfMissing: options.createIfMissing ?? true,
    memtableBytes: options.memtableBytes ?? defaults.memtableBytes,
    immutableMemtablesMax: options.immutableMemtablesMax ?? defaults.immutableMemtablesMax,
    level0CompactionFiles: options.level0CompactionFiles ?? defaults.level0CompactionFiles,
    level0StopWritesFiles: options.level0StopWritesFiles ?? defaults.level0StopWritesFiles,
    levelCount: options.levelCount ?? defaults.levelCount,
    level1Bytes: options.level1Bytes ?? defaults.level1Bytes,
    levelBytesMultiplier: options.levelBytesMultiplier ?? defaults.levelBytesMultiplier,
    tableFileBytes: options.tableFileBytes ?? defaults.tableFileBytes,
    blockBytes: options.blockBytes ?? defaults.blockBytes,
    blockRestartInterval: options.blockRestartInterval ?? defaults.blockRestartInterval,
    bloomBitsPerKey: options.bloomBitsPerKey ?? defaults.bloomBitsPerKey,
    blockCache:
      options.blockCache instanceof BlockCache
        ? options.blockCache
        : new BlockCache(options.blockCache ?? defaults.blockCacheBytes),
    openTablesMax: options.openTablesMax ?? defaults.openTablesMax,
    compactionFilter: options.compactionFilter,
    executor: options.executor,
    autoCompactions: options.autoCompactions ?? true,
    onFlushed: options.onFlushed,
  };
  validate(resolved);
  return resolved;
}

function validate(options: ResolvedOptions): void {
  const check = (condition: boolean, message: string): void => {
    if (!condition) throw new ConfigError(`LSM engine: ${message}`);
  };
  const positiveInteger = (name: keyof ResolvedOptions, minimum = 1): void => {
    const value = options[name];
    check(
      Number.isSafeInteger(value) && (value as number) >= minimum,
      `${name} must be an integer >= ${minimum}, got ${String(value)}`,
    );
  };
  positiveInteger("memtableBytes", 1024);
  check(options.memtableBytes <= memtableBytesMax, `memtableBytes must be <= ${memtableBytesMax}`);
  positiveInteger("immutableMemtablesMax");
  positiveInteger("level0CompactionFiles");
  positiveInteger("level0StopWritesFiles", 2);
  check(
    options.level0StopWritesFiles > options.level0CompactionFiles,
    "level0StopWritesFiles must exceed level0CompactionFiles, or writes stop before compaction starts",
  );
  positiveInteger("levelCount", 2);
  check(options.levelCount <= levelsMax, `levelCount must be <= ${levelsMax}`);
  positiveInteger("level1Bytes", 1024);
  positiveInteger("levelBytesMultiplier", 2);
  positiveInteger("tableFileBytes", 1024);
  positiveInteger("blockBytes", 256);
  check(options.blockBytes <= options.tableFileBytes, "blockBytes must not exceed tableFileBytes");
  positiveInteger("blockRestartInterval");
  positiveInteger("bloomBitsPerKey");
  check(options.bloomBitsPerKey <= 64, "bloomBitsPerKey must be <= 64");
  positiveInteger("openTablesMax", 2);
}
