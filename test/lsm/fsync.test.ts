// Every fsync that durability depends on is there, and nothing else
// fsyncs: the fault file system counts syncs per file and per directory.

import test from "ava";
import { parseFileName } from "../../src/lsm/file-names.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { openSmall, valueFor } from "./engine-helpers.js";

type Counts = Record<string, number>;

/** Syncs so far, by file kind, plus directory syncs by directory. */
function counts(fs: FaultFileSystem): Counts {
  const result: Counts = {};
  for (const [path, count] of fs.syncCounts) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const kind = parseFileName(name)?.kind ?? name;
    result[kind] = (result[kind] ?? 0) + count;
  }
  for (const [directory, count] of fs.directorySyncCounts) result[`dir ${directory}`] = count;
  return result;
}

function delta(after: Counts, before: Counts): Counts {
  const result: Counts = {};
  for (const [key, value] of Object.entries(after)) {
    const change = value - (before[key] ?? 0);
    if (change !== 0) result[key] = change;
  }
  return result;
}

test("with a WAL: unsynced writes never fsync, synced ones share fsyncs, a flush syncs table, directory and manifest once each", async (t) => {
  const fs = new FaultFileSystem();
  let before = counts(fs);
  const engine = await openSmall(fs, { memtableBytes: 1 << 20, autoCompactions: false });
  // Creating: the manifest, the directory (twice: manifest and WAL names, then CURRENT), CURRENT's temporary, and the new directory's parent.
  t.deepEqual(delta(counts(fs), before), { manifest: 1, temporary: 1, "dir db": 2, "dir .": 1 });

  before = counts(fs);
  for (let i = 0; i < 50; i++) await engine.put(`key${i}`, valueFor("key", i));
  t.deepEqual(delta(counts(fs), before), {}, "writes without sync fsync nothing");

  before = counts(fs);
  for (let i = 0; i < 10; i++) await engine.put(`sync${i}`, valueFor("sync", i), { sync: true });
  t.deepEqual(
    delta(counts(fs), before),
    { wal: 10 },
    "each awaited synced write costs one fdatasync",
  );

  before = counts(fs);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      engine.put(`group${i}`, valueFor("group", i), { sync: true }),
    ),
  );
  const grouped = delta(counts(fs), before);
  t.deepEqual(Object.keys(grouped), ["wal"]);
  t.true(grouped.wal! <= 2, `20 concurrent synced writes took ${grouped.wal} fsyncs`);

  before = counts(fs);
  await engine.flush();
  // The new WAL's name, then the table's name: two directory syncs; the old WAL was already synced.
  t.deepEqual(delta(counts(fs), before), { sst: 1, manifest: 1, "dir db": 2 });

  before = counts(fs);
  await engine.put("last", Buffer.from("x"));
  await engine.close();
  t.deepEqual(delta(counts(fs), before), {}, "a clean close fsyncs nothing more");
});

test("without a WAL: writes never fsync; flushes and compactions sync each new file, the directory and the manifest once", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs, {
    wal: false,
    memtableBytes: 1 << 20,
    autoCompactions: false,
    tableFileBytes: 1 << 20,
  });
  let before = counts(fs);
  for (let i = 0; i < 200; i++)
    await engine.put(`key${String(i).padStart(3, "0")}`, valueFor("key", i));
  t.deepEqual(delta(counts(fs), before), {});

  before = counts(fs);
  await engine.flush();
  t.deepEqual(delta(counts(fs), before), { sst: 1, manifest: 1, "dir db": 1 });

  for (let i = 0; i < 200; i += 2) await engine.delete(`key${String(i).padStart(3, "0")}`);
  before = counts(fs);
  await engine.compact();
  // The flush of the deletions, then one compaction of level 0 into level 1 with one output file.
  t.deepEqual(delta(counts(fs), before), { sst: 2, manifest: 2, "dir db": 2 });
  t.is(engine.stats().compactions, 1);
  await engine.close();
});

test("recovering a WAL syncs it once, so that what is replayed stays durable", async (t) => {
  const fs = new FaultFileSystem();
  let engine = await openSmall(fs.processView(), { memtableBytes: 1 << 20 });
  await engine.put("a", Buffer.from("1"));
  fs.crash({ mode: "torn", random: () => 0.99 });
  const before = counts(fs);
  engine = await openSmall(fs.processView(), { memtableBytes: 1 << 20 });
  const recovery = delta(counts(fs), before);
  t.is(recovery.wal, 1);
  t.is(recovery.manifest, 1);
  await engine.close();
});
