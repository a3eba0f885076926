// The LSM engine's public surface: what the store (and anything else that
// embeds the engine) imports. Everything else in src/lsm is internal.
//
//   const engine = await LsmEngine.open(directory, { wal: false });
//   const batch = new WriteBatch().put(key, value);
//   batch.appliedIndex = raftIndex;          // recorded by the flush that covers it
//   await engine.write(batch);               // ERR_QUEUE_FULL under backpressure: await engine.whenWritable()
//   const value = await engine.get(key);     // keys are latin1 strings (keys.ts)
//   for await (const { key, value } of engine.scan({ start, end })) ...
//   await engine.checkpoint(snapshotDirectory);   // hard links: a Raft snapshot
//   engine.flushedAppliedIndex               // truncate the Raft log up to here

export { BlockCache } from "./block-cache.js";
export { CorruptionError } from "./corruption-error.js";
export type {
  CheckpointResult,
  EngineStats,
  LevelStats,
  ScanRange,
  WriteOptions,
} from "./engine.js";
export { LsmEngine } from "./engine.js";
export { InlineExecutor, type JobExecutor, WorkerExecutor } from "./executor.js";
export type { CompactionFilterOptions, EngineOptions } from "./options.js";
export type { ScanEntry } from "./scan.js";
export { WriteBatch } from "./write-batch.js";
