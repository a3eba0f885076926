import test from "ava";
import { makeDirectoryDurably, writeFileDurably } from "../../src/fs/durable-file.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";

const never = () => 0;
const always = () => 0.999999;

test("a crash drops appended bytes that were never synced", async (t) => {
  const fs = new FaultFileSystem();
  await fs.mkdir("db");
  await fs.syncDirectory(".");
  const file = await fs.create("db/log");
  await fs.syncDirectory("db");
  await file.append(Buffer.from("durable"));
  await file.sync();
  await file.append(Buffer.from("-lost"));
  fs.crash({ mode: "drop", random: never });
  t.is((await fs.readFile("db/log")).toString(), "durable");
});

test("a torn crash keeps a prefix of the unsynced tail and nothing beyond it", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("log");
  await fs.syncDirectory(".");
  await file.append(Buffer.from("abc"));
  await file.sync();
  await file.append(Buffer.from("defgh"));
  fs.crash({ mode: "torn", random: always });
  t.is((await fs.readFile("log")).toString(), "abcdefgh");
  const again = await fs.openAppend("log");
  await again.append(Buffer.from("ij"));
  fs.crash({ mode: "torn", random: () => 0.5 });
  t.is((await fs.readFile("log")).toString(), "abcdefghi");
});

test("a file created in a directory that was not synced is gone after a crash", async (t) => {
  const fs = new FaultFileSystem();
  const kept = await fs.create("kept");
  await kept.sync();
  await fs.syncDirectory(".");
  const lost = await fs.create("lost");
  await lost.append(Buffer.from("x"));
  await lost.sync();
  fs.crash({ mode: "drop", random: never });
  t.deepEqual(await fs.list("."), ["kept"]);
});

test("an unsynced rename is undone by a crash and a synced one is not", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("a");
  await file.append(Buffer.from("1"));
  await file.sync();
  await fs.syncDirectory(".");
  await fs.rename("a", "b");
  fs.crash({ mode: "drop", random: never });
  t.deepEqual(await fs.list("."), ["a"]);
  await fs.rename("a", "b");
  await fs.syncDirectory(".");
  fs.crash({ mode: "drop", random: never });
  t.deepEqual(await fs.list("."), ["b"]);
});

test("a durable write leaves the old or the new contents whatever step the crash hits", async (t) => {
  const steps = ["create", "append", "sync", "rename", "syncDirectory"] as const;
  for (let crashAt = 0; crashAt <= steps.length; crashAt++) {
    const fs = new FaultFileSystem();
    await writeFileDurably(fs, "CURRENT", Buffer.from("old"));
    let step = 0;
    let crashed = false;
    fs.inject = (operation) => {
      if (!(steps as readonly string[]).includes(operation)) return undefined;
      if (step++ === crashAt) {
        crashed = true;
        return new Error("power lost");
      }
      return undefined;
    };
    await writeFileDurably(fs, "CURRENT", Buffer.from("new")).catch(() => undefined);
    fs.inject = undefined;
    fs.crash({ mode: "torn", random: () => 0.5 });
    const contents = (await fs.readFile("CURRENT")).toString();
    t.true(contents === "old" || contents === "new", `crash at step ${crashAt}: ${contents}`);
    if (!crashed) t.is(contents, "new");
  }
});

test("handles opened before a crash fail afterwards", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("f");
  await fs.syncDirectory(".");
  fs.crash({ mode: "drop", random: never });
  await t.throwsAsync(file.append(Buffer.from("x")), { message: /before a crash/ });
});

test("a truncate below the synced length is undone by a crash unless synced", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("f");
  await fs.syncDirectory(".");
  await file.append(Buffer.from("0123456789"));
  await file.sync();
  await fs.truncate("f", 4);
  fs.crash({ mode: "drop", random: never });
  t.is((await fs.readFile("f")).toString(), "0123456789");
  await fs.truncate("f", 4);
  const reopened = await fs.openAppend("f");
  await reopened.sync();
  fs.crash({ mode: "drop", random: never });
  t.is((await fs.readFile("f")).toString(), "0123");
});

test("an injected failure fails only the chosen operation", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("f");
  fs.inject = (operation) => (operation === "sync" ? new Error("disk on fire") : undefined);
  await file.append(Buffer.from("x"));
  await t.throwsAsync(file.sync(), { message: "disk on fire" });
  t.is(fs.contents("f").toString(), "x");
});

test("a hard link shares bytes under two names", async (t) => {
  const fs = new FaultFileSystem();
  const file = await fs.create("a");
  await file.append(Buffer.from("shared"));
  await file.sync();
  await fs.link("a", "b");
  await fs.remove("a");
  await fs.syncDirectory(".");
  fs.crash({ mode: "drop", random: never });
  t.is((await fs.readFile("b")).toString(), "shared");
  t.false(await fs.exists("a"));
});

test("a process view fails every call after a crash, so a dead process cannot write", async (t) => {
  const fs = new FaultFileSystem();
  const before = fs.processView();
  const file = await before.create("f");
  await file.append(Buffer.from("synced"));
  await file.sync();
  await before.syncDirectory(".");
  fs.crash({ mode: "drop", random: never });
  await t.throwsAsync(before.create("g"), { message: /process crashed/ });
  await t.throwsAsync(before.remove("f"), { message: /process crashed/ });
  t.deepEqual(await fs.list("."), ["f"]);
  const after = fs.processView();
  t.is((await after.readFile("f")).toString(), "synced");
});

test("an empty directory can be removed, and the removal is durable once the parent is synced", async (t) => {
  const fs = new FaultFileSystem();
  await fs.mkdir("a/b");
  await fs.syncDirectory(".");
  await fs.syncDirectory("a");
  const file = await fs.create("a/b/f");
  await t.throwsAsync(fs.removeDirectory("a/b"), { message: /ENOTEMPTY/ });
  await fs.remove("a/b/f");
  await fs.removeDirectory("a/b");
  t.deepEqual(await fs.list("a"), []);
  fs.crash({ mode: "drop", random: never });
  t.deepEqual(await fs.list("a"), ["b"]);
  await fs.removeDirectory("a/b");
  await fs.syncDirectory("a");
  fs.crash({ mode: "drop", random: never });
  t.deepEqual(await fs.list("a"), []);
  t.truthy(file);
});

test("a synced file inside a directory whose own entry was never synced is gone after a crash", async (t) => {
  const fs = new FaultFileSystem();
  await fs.mkdir("/data/node");
  const file = await fs.create("/data/node/log");
  await file.append(Buffer.from("acknowledged"));
  await file.sync();
  await fs.syncDirectory("/data/node");
  fs.crash({ mode: "drop", random: never });
  t.false(await fs.exists("/data/node/log"));
  t.false(await fs.exists("/data"));
});

test("makeDirectoryDurably keeps every level it made across a crash", async (t) => {
  const fs = new FaultFileSystem();
  await makeDirectoryDurably(fs, "/data/node/raft");
  const file = await fs.create("/data/node/raft/log");
  await file.append(Buffer.from("acknowledged"));
  await file.sync();
  await fs.syncDirectory("/data/node/raft");
  fs.crash({ mode: "drop", random: never });
  t.is((await fs.readFile("/data/node/raft/log")).toString(), "acknowledged");
});
