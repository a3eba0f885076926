// Shared by the engine tests: small settings that make flushes and
// compactions happen after a few hundred writes, deterministic execution,
// and helpers to read an engine's whole contents.

import type { FileSystem } from "../../src/fs/file-system.js";
import { LsmEngine } from "../../src/lsm/engine.js";
import { InlineExecutor } from "../../src/lsm/executor.js";
import type { EngineOptions } from "../../src/lsm/options.js";
import { MemraftError } from "../../src/util/errors.js";

export const smallEngine: EngineOptions = {
  memtableBytes: 4096,
  immutableMemtablesMax: 2,
  level0CompactionFiles: 2,
  level0StopWritesFiles: 8,
  level1Bytes: 16 * 1024,
  levelBytesMultiplier: 4,
  tableFileBytes: 4096,
  blockBytes: 512,
  blockCache: 64 * 1024,
  openTablesMax: 8,
};

export function openSmall(
  fs: FileSystem,
  options: EngineOptions = {},
  directory = "db",
): Promise<LsmEngine> {
  return LsmEngine.open(directory, {
    ...smallEngine,
    fileSystem: fs,
    executor: new InlineExecutor(),
    ...options,
  });
}

/** Every live entry, in order, as key -> value text. */
export async function contents(engine: LsmEngine): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for await (const { key, value } of engine.scan()) result.set(key, value.toString("latin1"));
  return result;
}

/** Runs a write, waiting out backpressure (ERR_QUEUE_FULL) instead of failing. */
export async function writeThroughStalls(
  write: () => Promise<void>,
  engine: LsmEngine,
): Promise<void> {
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (!MemraftError.is(error, "ERR_QUEUE_FULL")) throw error;
      await engine.whenWritable();
    }
  }
}

export function valueFor(key: string, version: number): Buffer {
  return Buffer.from(`${key}@${version}:`.padEnd(40, "."), "latin1");
}

/** A small seeded PRNG (mulberry32) for crash tearing: a failing seed replays exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets background work (inline jobs, fake I/O) run for `turns` event-loop turns. */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
