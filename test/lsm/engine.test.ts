import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { LsmEngine } from "../../src/lsm/engine.js";
import { InlineExecutor } from "../../src/lsm/executor.js";
import { WriteBatch } from "../../src/lsm/write-batch.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { contents, openSmall, valueFor, writeThroughStalls } from "./engine-helpers.js";

const never = () => 0;

test("values written, overwritten and deleted read back across flushes, compactions and a reopen", async (t) => {
  const fs = new FaultFileSystem();
  let engine = await openSmall(fs);
  const model = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 400; i++) {
      const key = `key${String((i * 37) % 300).padStart(4, "0")}`;
      if (i % 7 === round) {
        await writeThroughStalls(() => engine.delete(key), engine);
        model.delete(key);
      } else {
        const value = valueFor(key, round * 1000 + i);
        await writeThroughStalls(() => engine.put(key, value), engine);
        model.set(key, value.toString("latin1"));
      }
    }
    for (const [key, value] of model) t.is((await engine.get(key))?.toString("latin1"), value, key);
    t.is(await engine.get("absent"), undefined);
  }
  t.true(engine.stats().flushes > 0);
  t.true(engine.stats().compactions > 0);
  await engine.close();
  engine = await openSmall(fs);
  t.deepEqual(await contents(engine), new Map([...model].sort(([a], [b]) => (a < b ? -1 : 1))));
  await engine.compact();
  t.deepEqual(await contents(engine), new Map([...model].sort(([a], [b]) => (a < b ? -1 : 1))));
  await engine.close();
});

test("a scan returns live keys of its range in order and keeps its snapshot while writes go on", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs);
  for (let i = 0; i < 200; i++) {
    await writeThroughStalls(
      () => engine.put(`k${String(i).padStart(3, "0")}`, valueFor("k", i)),
      engine,
    );
  }
  await engine.flush();
  for (let i = 0; i < 200; i += 2) {
    await writeThroughStalls(() => engine.delete(`k${String(i).padStart(3, "0")}`), engine);
  }
  const keys: string[] = [];
  const scan = engine.scan({ start: "k050", end: "k060" });
  let first = true;
  for await (const { key } of scan) {
    keys.push(key);
    if (first) {
      // Writes after the scan started are not seen by it.
      await engine.put("k059x", Buffer.from("new"));
      await engine.delete("k057");
      first = false;
    }
  }
  t.deepEqual(keys, ["k051", "k053", "k055", "k057", "k059"]);
  const after: string[] = [];
  for await (const { key } of engine.scan({ start: "k056", end: "k060" })) after.push(key);
  t.deepEqual(after, ["k059", "k059x"]);
  await engine.close();
});

test("without a WAL, a flush records the applied index it covers and a crash recovers exactly that state", async (t) => {
  const fs = new FaultFileSystem();
  const flushed: number[] = [];
  let engine = await openSmall(fs.processView(), {
    wal: false,
    onFlushed: (index) => flushed.push(index),
  });
  const states = new Map<number, Map<string, string>>();
  const model = new Map<string, string>();
  states.set(-1, new Map());
  for (let index = 1; index <= 300; index++) {
    const key = `key${index % 40}`;
    const value = valueFor(key, index);
    const batch = new WriteBatch().put(key, value);
    batch.appliedIndex = index;
    await writeThroughStalls(() => engine.write(batch), engine);
    model.set(key, value.toString("latin1"));
    states.set(index, new Map(model));
  }
  t.true(flushed.length > 0);
  t.deepEqual(
    flushed,
    [...flushed].sort((a, b) => a - b),
  );
  t.is(engine.flushedAppliedIndex, flushed.at(-1)!);
  const durable = engine.flushedAppliedIndex;
  fs.crash({ mode: "torn", random: () => 0.5 });
  engine = await openSmall(fs.processView(), { wal: false });
  t.is(engine.flushedAppliedIndex, durable);
  const expected = [...states.get(durable)!].sort(([a], [b]) => (a < b ? -1 : 1));
  t.deepEqual([...(await contents(engine))], expected);
  await engine.close();
});

test("a clean close without a WAL flushes the memtable first", async (t) => {
  const fs = new FaultFileSystem();
  let engine = await openSmall(fs, { wal: false });
  await engine.put("a", Buffer.from("1"));
  await engine.close();
  engine = await openSmall(fs, { wal: false });
  t.is((await engine.get("a"))?.toString(), "1");
  await engine.close();
});

test("writes are refused with ERR_QUEUE_FULL while level 0 is at its limit, and resume after compaction", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs, {
    autoCompactions: false,
    level0CompactionFiles: 2,
    level0StopWritesFiles: 3,
  });
  let refused: unknown;
  for (let i = 0; i < 5000 && refused === undefined; i++) {
    try {
      await engine.put(`key${i}`, valueFor("key", i));
    } catch (error) {
      refused = error;
    }
    if (i % 100 === 99) await engine.flush().catch(() => undefined);
  }
  t.true(MemraftError.is(refused, "ERR_QUEUE_FULL"), String(refused));
  t.regex((refused as Error).message, /level 0 has 3 files/);
  t.false(engine.writable);
  t.true(engine.stats().stalls.stalled);
  t.true(engine.stats().stalls.refusedWrites >= 1);
  const writable = engine.whenWritable();
  await engine.compact();
  await writable;
  t.true(engine.writable);
  await engine.put("after", Buffer.from("ok"));
  t.is((await engine.get("after"))?.toString(), "ok");
  await engine.close();
});

test("a checkpoint opens as an engine holding the state at checkpoint time, independent of the original", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs, { wal: false });
  const batch = new WriteBatch();
  for (let i = 0; i < 300; i++) batch.put(`key${String(i).padStart(3, "0")}`, valueFor("key", i));
  batch.appliedIndex = 41;
  await engine.write(batch);
  const before = await contents(engine);
  const result = await engine.checkpoint("snapshots/1");
  t.is(result.appliedIndex, 41);
  t.true(result.fileCount > 0);
  for (let i = 0; i < 300; i++)
    await writeThroughStalls(() => engine.delete(`key${String(i).padStart(3, "0")}`), engine);
  await engine.compact();
  t.is((await contents(engine)).size, 0);
  const copy = await openSmall(fs, { wal: false }, "snapshots/1");
  t.is(copy.flushedAppliedIndex, 41);
  t.deepEqual(await contents(copy), before);
  await copy.close();
  await engine.close();
  await t.throwsAsync(
    openSmall(fs, {}, "db").then(async (again) => {
      await again.checkpoint("snapshots/1");
    }),
    { message: /already exists/ },
  );
});

test("the compaction filter drops entries it rejects when they reach the bottom", async (t) => {
  const fs = new FaultFileSystem();
  const moduleUrl = new URL("./fixtures/expiry-filter.js", import.meta.url).href;
  let compactions = 0;
  const engine = await openSmall(fs, {
    compactionFilter: {
      moduleUrl,
      exportName: "expiryFilter",
      params: () => {
        compactions++;
        return { prefix: "expired" };
      },
    },
  });
  for (let i = 0; i < 200; i++) {
    const value = i % 3 === 0 ? `expired:${i}` : `fresh:${i}`;
    await writeThroughStalls(
      () => engine.put(`key${String(i).padStart(3, "0")}`, Buffer.from(value)),
      engine,
    );
  }
  await engine.compact();
  t.true(compactions > 0);
  const left = await contents(engine);
  t.is(left.size, 200 - 67);
  for (const value of left.values()) t.regex(value, /^fresh/);
  t.is(await engine.get("key000"), undefined);
  await engine.close();
});

test("a closed engine refuses work, and one directory opens once per process", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs);
  const error = await t.throwsAsync(openSmall(fs));
  t.true(MemraftError.is(error, "ERR_CONFIG"));
  await engine.close();
  t.true(MemraftError.is(await t.throwsAsync(async () => engine.get("a")), "ERR_CLOSED"));
  t.true(
    MemraftError.is(await engine.put("a", Buffer.from("1")).catch((e: unknown) => e), "ERR_CLOSED"),
  );
  const again = await openSmall(fs);
  await again.close();
});

test("a value larger than a memtable chunk round-trips through the WAL and a flush", async (t) => {
  const fs = new FaultFileSystem();
  let engine = await openSmall(fs.processView(), { memtableBytes: 4 << 20 });
  const big = Buffer.alloc(3 << 20, 7);
  big.write("head");
  await engine.put("big", big, { sync: true });
  await engine.put("small", Buffer.from("s"), { sync: true });
  fs.crash({ mode: "drop", random: never });
  engine = await openSmall(fs.processView(), { memtableBytes: 4 << 20 });
  t.true((await engine.get("big"))?.equals(big));
  await engine.flush();
  t.true((await engine.get("big"))?.equals(big));
  t.is((await engine.get("small"))?.toString(), "s");
  await engine.close();
});

test("on a real disk, with the worker thread, many writes flush and compact and all read back", async (t) => {
  const directory = mkdtempSync(join(tmpdir(), "memraft-lsm-"));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const options = {
    memtableBytes: 64 * 1024,
    level1Bytes: 256 * 1024,
    tableFileBytes: 64 * 1024,
    level0CompactionFiles: 2,
  };
  let engine = await LsmEngine.open(directory, options);
  const count = 20_000;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const key = `user${String((i * 7919) % count).padStart(6, "0")}`;
    pending.push(writeThroughStalls(() => engine.put(key, valueFor(key, i)), engine));
    if (pending.length === 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const stats = engine.stats();
  t.true(stats.flushes > 5, `flushes ${stats.flushes}`);
  t.true(stats.compactions > 0, `compactions ${stats.compactions}`);
  t.true(stats.writeAmplification > 1, `write amplification ${stats.writeAmplification}`);
  await engine.close();
  engine = await LsmEngine.open(directory, { ...options, executor: new InlineExecutor() });
  for (let i = 0; i < count; i += 97) {
    const key = `user${String((i * 7919) % count).padStart(6, "0")}`;
    t.true((await engine.get(key))?.equals(valueFor(key, i)), key);
  }
  await engine.compact();
  t.is((await contents(engine)).size, count);
  await engine.close();
});
