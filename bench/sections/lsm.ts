// memraft's LSM engine beside LevelDB (classic-level 3, LevelDB 1.20 behind a
// native binding) on the same workloads, in the same run, on the same disk
// (issue 3): random fills of 16-byte keys and 100-byte incompressible
// values in batches of 1 and of 100 without sync, synced puts from 64
// concurrent writers (group commit), and random gets after a full
// compaction, first with each engine's default 8 MiB block cache, then
// with caches that hold the data set, and gets of keys just written (the
// "hits memtable or cache" cases).
// Write amplification is SST bytes written (flushes and compactions) per
// key+value byte written; LevelDB's comes from its leveldb.stats property
// (whole MB per level). Both engines keep their own defaults otherwise.
//
// MEMRAFT_BENCH_KEYS scales the key count (default 1,000,000).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { LsmEngine } from "../../src/lsm/engine.js";
import { WriteBatch } from "../../src/lsm/write-batch.js";
import { MemraftError } from "../../src/util/errors.js";
import type { BenchSection } from "../run.js";

const keyCount = Number(process.env.MEMRAFT_BENCH_KEYS ?? 1_000_000);
const syncPutCount = Math.max(1000, Math.floor(keyCount / 10));
const serialGetCount = Math.max(1000, Math.floor(keyCount / 5));
const recentKeyCount = Math.min(50_000, keyCount);
const valueBytes = 100;
const inFlight = 64;
const largeCacheBytes = 512 * 1024 * 1024;

interface Engine {
  readonly name: string;
  open(directory: string, cacheBytes: number | undefined): Promise<void>;
  write(keys: readonly string[], values: readonly Buffer[], sync: boolean): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  compactAll(): Promise<void>;
  /** SST bytes written per user byte, or NaN when unknown. */
  writeAmplification(userBytes: number): number;
  close(): Promise<void>;
}

class Memraft implements Engine {
  readonly name = "memraft";
  private engine: LsmEngine | undefined;
  stallWaits = 0;

  async open(directory: string, cacheBytes: number | undefined): Promise<void> {
    this.engine = await LsmEngine.open(
      directory,
      cacheBytes === undefined ? {} : { blockCache: cacheBytes },
    );
  }

  async write(keys: readonly string[], values: readonly Buffer[], sync: boolean): Promise<void> {
    const engine = this.engine!;
    const batch = new WriteBatch();
    for (let i = 0; i < keys.length; i++) batch.put(keys[i]!, values[i]!);
    for (;;) {
      try {
        return await engine.write(batch, { sync });
      } catch (error) {
        if (!MemraftError.is(error, "ERR_QUEUE_FULL")) throw error;
        this.stallWaits++;
        await engine.whenWritable();
      }
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.engine!.get(key);
  }

  compactAll(): Promise<void> {
    return this.engine!.compact();
  }

  writeAmplification(): number {
    return this.engine!.stats().writeAmplification;
  }

  async close(): Promise<void> {
    await this.engine!.close();
  }
}

class LevelDb implements Engine {
  readonly name = "LevelDB";
  private db: ClassicLevel<string, Buffer> | undefined;

  async open(directory: string, cacheBytes: number | undefined): Promise<void> {
    this.db = new ClassicLevel<string, Buffer>(directory, {
      keyEncoding: "utf8",
      valueEncoding: "buffer",
      ...(cacheBytes === undefined ? {} : { cacheSize: cacheBytes }),
    });
    await this.db.open();
  }

  async write(keys: readonly string[], values: readonly Buffer[], sync: boolean): Promise<void> {
    if (keys.length === 1) return this.db!.put(keys[0]!, values[0]!, { sync });
    await this.db!.batch(
      keys.map((key, i) => ({ type: "put" as const, key, value: values[i]! })),
      { sync },
    );
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.db!.get(key);
  }

  compactAll(): Promise<void> {
    return this.db!.compactRange("", "\uffff");
  }

  /** Sums the Write(MB) column of leveldb.stats (flushes land in the level they go to). */
  writeAmplification(userBytes: number): number {
    let writtenMegabytes = 0;
    for (const line of this.db!.getProperty("leveldb.stats").split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields.length === 6 && /^\d+$/.test(fields[0]!)) writtenMegabytes += Number(fields[5]);
    }
    return (writtenMegabytes * 1024 * 1024) / userBytes;
  }

  async close(): Promise<void> {
    await this.db!.close();
  }
}

/** A seeded permutation of 0..count-1 (db_bench's random order: every key once). */
function permutation(count: number, seed: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  let state = seed >>> 0;
  for (let i = count - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}

const valuePool = Buffer.alloc(1 << 20);
{
  let state = 42;
  for (let i = 0; i < valuePool.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    valuePool[i] = state >>> 24;
  }
}

function keyOf(n: number): string {
  return String(n).padStart(16, "0");
}

function valueFor(n: number): Buffer {
  const start = (n * 101) % (valuePool.length - valueBytes);
  return valuePool.subarray(start, start + valueBytes);
}

/** Runs `count` operations, `concurrency` at a time; returns operations per second. */
async function drive(
  count: number,
  concurrency: number,
  operation: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await operation(next++);
    }),
  );
  return (count * 1000) / (performance.now() - started);
}

async function fill(
  engine: Engine,
  order: Uint32Array,
  batchSize: number,
  concurrency: number,
): Promise<number> {
  const batches = Math.ceil(order.length / batchSize);
  const opsPerSecond = await drive(batches, concurrency, (b) => {
    const keys: string[] = [];
    const values: Buffer[] = [];
    for (let i = b * batchSize; i < Math.min(order.length, (b + 1) * batchSize); i++) {
      keys.push(keyOf(order[i]!));
      values.push(valueFor(order[i]!));
    }
    return engine.write(keys, values, false);
  });
  return opsPerSecond * batchSize;
}

async function readAll(
  engine: Engine,
  order: Uint32Array,
  count: number,
  concurrency: number,
): Promise<number> {
  let missing = 0;
  const opsPerSecond = await drive(count, concurrency, async (i) => {
    const n = order[i % order.length]!;
    const value = await engine.get(keyOf(n));
    if (value === undefined || !value.equals(valueFor(n))) missing++;
  });
  if (missing > 0)
    throw new Error(`${engine.name}: ${missing} gets missed or returned a wrong value`);
  return opsPerSecond;
}

interface Row {
  readonly workload: string;
  readonly ours: number;
  readonly theirs: number;
  readonly oursAmplification?: number;
  readonly theirsAmplification?: number;
  readonly target?: number;
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

async function measure(
  engine: Engine,
  root: string,
  rows: Map<string, [number, number, number]>,
): Promise<void> {
  const userBytes = keyCount * (16 + valueBytes);
  const put = (workload: string, opsPerSecond: number, amplification = Number.NaN): void => {
    rows.set(`${engine.name}:${workload}`, [opsPerSecond, amplification, 0]);
    console.log(
      `  ${engine.name.padEnd(8)} ${workload.padEnd(52)} ${format(opsPerSecond).padStart(10)} ops/s`,
    );
  };
  const order = permutation(keyCount, 7);
  const reads = permutation(keyCount, 11);

  let directory = mkdtempSync(join(root, `${engine.name}-fill1-`));
  await engine.open(directory, undefined);
  put(
    "fill, batch 1, 64 in flight, no sync",
    await fill(engine, order, 1, inFlight),
    engine.writeAmplification(userBytes),
  );
  await engine.close();
  rmSync(directory, { recursive: true, force: true });

  directory = mkdtempSync(join(root, `${engine.name}-fill100-`));
  await engine.open(directory, undefined);
  put(
    "fill, batch 100, one batch at a time, no sync",
    await fill(engine, order, 100, 1),
    engine.writeAmplification(userBytes),
  );
  const compactStart = performance.now();
  await engine.compactAll();
  console.log(
    `  ${engine.name.padEnd(8)} full compaction took ${format(performance.now() - compactStart)} ms`,
  );
  put(
    "get after compaction, 8 MiB cache, 64 in flight",
    await readAll(engine, reads, keyCount, inFlight),
  );
  await engine.close();
  await engine.open(directory, largeCacheBytes);
  await readAll(engine, order, keyCount, inFlight);
  put(
    "get after compaction, warm cache, 64 in flight",
    await readAll(engine, reads, keyCount, inFlight),
  );
  put(
    "get after compaction, warm cache, one at a time",
    await readAll(engine, reads, serialGetCount, 1),
  );
  await engine.close();
  rmSync(directory, { recursive: true, force: true });

  // Recently written keys: memraft's memtable holds them all; LevelDB's 4 MiB
  // write buffer holds part, the rest is in fresh level-0 files and its cache.
  directory = mkdtempSync(join(root, `${engine.name}-recent-`));
  await engine.open(directory, undefined);
  const recent = order.subarray(0, recentKeyCount);
  await fill(engine, recent, 100, 1);
  put(
    "get of 50k keys just written, 64 in flight",
    await readAll(engine, recent, keyCount, inFlight),
  );
  await engine.close();
  rmSync(directory, { recursive: true, force: true });

  directory = mkdtempSync(join(root, `${engine.name}-sync-`));
  await engine.open(directory, undefined);
  const syncOrder = order.subarray(0, syncPutCount);
  put(
    "sync put, 64 concurrent writers",
    await drive(syncOrder.length, inFlight, (i) =>
      engine.write([keyOf(syncOrder[i]!)], [valueFor(syncOrder[i]!)], true),
    ),
  );
  await engine.close();
  rmSync(directory, { recursive: true, force: true });
}

const section: BenchSection = {
  name: "lsm",
  description: `memraft LSM engine vs LevelDB (classic-level), ${format(keyCount)} keys of 16 B, values of ${valueBytes} B`,
  async run() {
    const root = mkdtempSync(join(tmpdir(), "memraft-bench-lsm-"));
    const rows = new Map<string, [number, number, number]>();
    const memraft = new Memraft();
    try {
      // LevelDB first, then memraft, each on fresh directories on the same disk.
      await measure(new LevelDb(), root, rows);
      await measure(memraft, root, rows);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const table: Row[] = [];
    const workloads = [...rows.keys()]
      .filter((key) => key.startsWith("memraft:"))
      .map((key) => key.slice(8));
    const targets = new Map([
      ["fill, batch 1, 64 in flight, no sync", 0.5],
      ["fill, batch 100, one batch at a time, no sync", 0.5],
      ["get after compaction, warm cache, 64 in flight", 1],
      ["get after compaction, warm cache, one at a time", 1],
      ["get of 50k keys just written, 64 in flight", 1],
      ["sync put, 64 concurrent writers", 1],
    ]);
    for (const workload of workloads) {
      const [ours, oursAmplification] = rows.get(`memraft:${workload}`)!;
      const [theirs, theirsAmplification] = rows.get(`LevelDB:${workload}`)!;
      const target = targets.get(workload);
      table.push({
        workload,
        ours,
        theirs,
        ...(Number.isNaN(oursAmplification) ? {} : { oursAmplification, theirsAmplification }),
        ...(target === undefined ? {} : { target }),
      });
    }
    console.log(
      "\n| workload | memraft ops/s | LevelDB ops/s | ratio | target | write amp. memraft / LevelDB |",
    );
    console.log("|---|---|---|---|---|---|");
    for (const row of table) {
      const ratio = row.ours / row.theirs;
      const target =
        row.target === undefined
          ? "-"
          : `>= ${row.target.toFixed(1)}x ${ratio >= row.target ? "met" : "NOT met"}`;
      const amplification =
        row.oursAmplification === undefined
          ? "-"
          : `${row.oursAmplification.toFixed(2)} / ${row.theirsAmplification!.toFixed(2)}`;
      console.log(
        `| ${row.workload} | ${format(row.ours)} | ${format(row.theirs)} | ${ratio.toFixed(2)}x | ${target} | ${amplification} |`,
      );
    }
    console.log(
      `\nmemraft writes refused for backpressure and retried after whenWritable(): ${memraft.stallWaits}`,
    );
  },
};

export default section;
