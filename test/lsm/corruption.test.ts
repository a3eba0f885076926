// A flipped byte in a WAL record, an SST block or the manifest is detected
// and reported with the file and the offset; corrupt data is never served.

import test from "ava";
import { CorruptionError } from "../../src/lsm/corruption-error.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { contents, openSmall, turns, valueFor } from "./engine-helpers.js";

function flip(fs: FaultFileSystem, path: string, position: number): void {
  const byte = fs.contents(path)[position]!;
  fs.corrupt(path, position, Buffer.from([byte ^ 0x20]));
}

async function onlyFile(fs: FaultFileSystem, suffix: string): Promise<string> {
  const names = (await fs.list("db")).filter((name) => name.endsWith(suffix));
  if (names.length !== 1) throw new Error(`expected one ${suffix} file, found ${names.join(", ")}`);
  return `db/${names[0]}`;
}

test("a flipped byte in a synced WAL record fails the open with the log's name and the record's offset", async (t) => {
  const fs = new FaultFileSystem();
  // The process dies without closing (its writes stay in the page cache); the disk later rots a byte.
  const engine = await openSmall(fs.processView(), { memtableBytes: 1 << 20 });
  for (let i = 0; i < 100; i++) await engine.put(`key${i}`, valueFor("key", i), { sync: i === 99 });
  // The log goes idle: its synced records get their promise (a marker) before the process dies.
  await turns(2);
  const wal = await onlyFile(fs, ".wal");
  const position = Math.floor(fs.contents(wal).length / 2);
  flip(fs, wal, position);
  const error = await t.throwsAsync(openSmall(fs.processView(), { memtableBytes: 1 << 20 }), {
    instanceOf: CorruptionError,
  });
  t.is(error?.file, wal);
  t.true(
    error!.offset <= position && position - error!.offset < 200,
    `reported ${error?.offset}, flipped ${position}`,
  );
  t.regex(error!.message, /checksum mismatch/);
});

test("a flipped byte in an SST data block fails reads of that block with the file and block offset, and stops compaction", async (t) => {
  const fs = new FaultFileSystem();
  let engine = await openSmall(fs, {
    wal: false,
    memtableBytes: 1 << 20,
    tableFileBytes: 1 << 20,
    autoCompactions: false,
  });
  for (let i = 0; i < 300; i++)
    await engine.put(`key${String(i).padStart(3, "0")}`, valueFor("key", i));
  await engine.close();
  const sst = await onlyFile(fs, ".sst");
  // Block 0 starts at offset 0: damage a byte inside it.
  flip(fs, sst, 100);
  engine = await openSmall(fs, {
    wal: false,
    memtableBytes: 1 << 20,
    tableFileBytes: 1 << 20,
    autoCompactions: false,
  });
  const error = await t.throwsAsync(async () => engine.get("key000"), {
    instanceOf: CorruptionError,
  });
  t.is(error?.file, sst);
  t.is(error?.offset, 0);
  // Keys in other blocks still read.
  t.true((await engine.get("key299"))?.equals(valueFor("key", 299)));
  await t.throwsAsync(contents(engine), { instanceOf: CorruptionError });
  await engine.put("more", Buffer.from("x"));
  const compaction = await t.throwsAsync(engine.compact());
  t.true(MemraftError.is(compaction, "ERR_CORRUPTION"), String(compaction));
  t.regex(compaction!.message, new RegExp(`corruption in ${sst} at offset 0`));
  t.true(
    MemraftError.is(
      await engine.put("after", Buffer.from("y")).catch((e: unknown) => e),
      "ERR_CORRUPTION",
    ),
  );
  await engine.close();
});

test("a flipped byte in the manifest fails the open with the manifest's name and the edit's offset", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs, { wal: false, autoCompactions: false });
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 40; i++) await engine.put(`key${round}-${i}`, valueFor("key", i));
    await engine.flush();
  }
  const path = `db/${(await fs.list("db")).find((name) => name.startsWith("MANIFEST-"))!}`;
  // The snapshot and the first flush edits are promised synced by the edits after them.
  const position = Math.floor(fs.contents(path).length / 3);
  flip(fs, path, position);
  await engine.close().catch(() => undefined);
  const error = await t.throwsAsync(openSmall(fs, { wal: false }), { instanceOf: CorruptionError });
  t.is(error?.file, path);
  t.true(error!.offset <= position, `reported ${error?.offset}, flipped ${position}`);
});

test("a damaged CURRENT fails the open instead of starting an empty engine", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs);
  await engine.put("a", Buffer.from("1"));
  await engine.close();
  flip(fs, "db/CURRENT", 20);
  const error = await t.throwsAsync(openSmall(fs), { instanceOf: CorruptionError });
  t.is(error?.file, "db/CURRENT");
});

test("damage in the last synced records before the log went idle reads as a torn tail (the documented limit)", async (t) => {
  const fs = new FaultFileSystem();
  const engine = await openSmall(fs.processView(), { memtableBytes: 1 << 20 });
  for (let i = 0; i < 100; i++) await engine.put(`key${i}`, valueFor("key", i), { sync: i === 99 });
  // The process dies at once: no later chunk promises the last group.
  const wal = await onlyFile(fs, ".wal");
  flip(fs, wal, fs.contents(wal).length - 20);
  const reopened = await openSmall(fs.processView(), { memtableBytes: 1 << 20 });
  t.is(await reopened.get("key99"), undefined);
  t.true((await reopened.get("key98"))?.equals(valueFor("key", 98)));
  await reopened.close();
});
