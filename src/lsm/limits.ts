// Limits of the LSM engine and the defaults of its settings, in one place,
// units last. The relations between them are checked when this module loads,
// so a bad edit fails at the first import rather than deep in a format.

import { assert } from "../util/assert.js";

/** Longest key the engine accepts (the varint formats allow more; this bounds memory). */
export const keyBytesMax = 65_535;
/** Largest value in one entry. */
export const valueBytesMax = 64 * 1024 * 1024;
/** Largest encoded write batch (one WAL record). */
export const batchBytesMax = 128 * 1024 * 1024;
/** Most operations in one write batch. */
export const batchOperationsMax = 1_000_000;

/** Memtable arena chunk: records never straddle chunks; a bigger record gets its own chunk. */
export const memtableChunkBytes = 1024 * 1024;
/**
 * A memtable position packs (chunk, offset) into one small integer:
 * chunk * memtableChunkBytes + offset, kept below 2^30 so that V8 stores it
 * unboxed in the memtable's Map.
 */
export const memtableChunksMax = 1023;
/** Largest memtable a setting may ask for. */
export const memtableBytesMax = 128 * 1024 * 1024;

/** Most levels an engine may have (L0 included). */
export const levelsMax = 12;
/** Bytes of WAL records gathered into one write + fdatasync at most (group commit). */
export const commitGroupBytesMax = 4 * 1024 * 1024;
/** Bytes of writes waiting for the WAL beyond which writes are refused. */
export const commitQueueBytesMax = 64 * 1024 * 1024;
/** A manifest longer than this is rewritten as one snapshot record. */
export const manifestBytesMax = 4 * 1024 * 1024;
/** Compaction input fed to the worker per run and request. */
export const compactionFeedBytes = 512 * 1024;

/** Defaults of EngineOptions (see options.ts for what each means). */
export const defaults = {
  memtableBytes: 8 * 1024 * 1024,
  immutableMemtablesMax: 2,
  level0CompactionFiles: 4,
  level0StopWritesFiles: 20,
  levelCount: 7,
  level1Bytes: 32 * 1024 * 1024,
  levelBytesMultiplier: 10,
  tableFileBytes: 2 * 1024 * 1024,
  blockBytes: 4096,
  blockRestartInterval: 16,
  bloomBitsPerKey: 10,
  blockCacheBytes: 8 * 1024 * 1024,
  openTablesMax: 500,
} as const;

/**
 * A compaction output is cut before it overlaps more than this many target
 * files' worth of the level below its own (LevelDB's grandparent limit), and
 * a file moves down without rewriting only below that overlap.
 */
export const grandparentOverlapFiles = 10;

assert(
  memtableChunksMax * memtableChunkBytes < 2 ** 30,
  "memtable positions must stay small integers",
);
assert(
  memtableBytesMax <= ((memtableChunksMax - 1) * memtableChunkBytes) / 2,
  "a full memtable must fit its chunk table",
);
assert(keyBytesMax < memtableChunkBytes / 4, "a record with a maximal key must fit a shared chunk");
assert(valueBytesMax + keyBytesMax + 32 <= batchBytesMax, "one maximal entry must fit a batch");
assert(
  defaults.level0CompactionFiles < defaults.level0StopWritesFiles,
  "L0 must compact before it stops writes",
);
assert(defaults.memtableBytes <= memtableBytesMax, "default memtable too large");
assert(commitGroupBytesMax <= commitQueueBytesMax, "a commit group is taken from the queue");
assert(defaults.levelCount <= levelsMax, "too many levels");
