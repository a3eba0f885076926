// The shared Raft log on the fault-injecting file system: what was
// acknowledged survives any crash, torn tails are cut, damage to synced
// data is reported with file and offset, and writes share fsyncs.

import test from "ava";
import { RaftLogStorage } from "../../src/raft/log-storage/log-storage.js";
import { Prng } from "../../src/raft/prng.js";
import type { Entry, HardState } from "../../src/raft/types.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem, type TearMode } from "../helpers/fault-fs.js";

const directory = "/data/raft-log";

function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 0, data: new TextEncoder().encode(text) };
}

/** A model of one group's durable log: what recovery must give back. */
interface ModelGroup {
  hardState: HardState;
  offset: number;
  offsetTerm: number;
  entries: Entry[];
}

function summary(group: ModelGroup | undefined) {
  if (group === undefined) return undefined;
  return {
    hardState: group.hardState,
    offset: group.offset,
    offsetTerm: group.offsetTerm,
    entries: group.entries.map((e) => `${e.index}/${e.term}/${new TextDecoder().decode(e.data)}`),
  };
}

test("a reopened log returns every group's entries, truncations, hard state and compaction", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  await log.save(1, {
    entries: [entry(1, 1), entry(2, 1), entry(3, 1)],
    hardState: { term: 1, vote: 1, commit: 2 },
  });
  await log.save(2, { entries: [entry(1, 4)], hardState: { term: 4, vote: 2, commit: 0 } });
  await log.save(1, {
    entries: [entry(3, 2), entry(4, 2)],
    hardState: { term: 2, vote: 0, commit: 3 },
  });
  await log.compact(1, 2, 1);
  await log.save(3, {
    snapshot: { index: 10, term: 3, conf: { voters: [1], learners: [], votersOutgoing: [] } },
    entries: [entry(11, 3)],
  });
  await log.close();

  const reopened = await RaftLogStorage.open(fs, directory);
  t.deepEqual(reopened.groupIds(), [1, 2, 3]);
  t.deepEqual(summary(reopened.takeRecovered(1)), {
    hardState: { term: 2, vote: 0, commit: 3 },
    offset: 2,
    offsetTerm: 1,
    entries: ["3/2/e3t2", "4/2/e4t2"],
  });
  t.deepEqual(summary(reopened.takeRecovered(2))?.entries, ["1/4/e1t4"]);
  t.deepEqual(summary(reopened.takeRecovered(3)), {
    hardState: { term: 0, vote: 0, commit: 0 },
    offset: 10,
    offsetTerm: 3,
    entries: ["11/3/e11t3"],
  });
  t.is(reopened.recovery.torn, undefined);
});

test("writes from many groups in one turn share a single fsync", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  const before = log.syncCount;
  await Promise.all(
    Array.from({ length: 20 }, (_, g) =>
      log.save(g + 1, { entries: [entry(1, 1)], hardState: { term: 1, vote: 0, commit: 0 } }),
    ),
  );
  t.is(log.syncCount - before, 1);
});

test("a hard state that moved only its commit costs no fsync and is durable with the next write", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  await log.save(1, {
    entries: [entry(1, 1), entry(2, 1)],
    hardState: { term: 1, vote: 1, commit: 0 },
  });
  const synced = log.syncCount;
  // As a Ready that moved only the commit asks (raw-node's mustSync).
  await log.save(1, { hardState: { term: 1, vote: 1, commit: 2 }, mustSync: false });
  await new Promise((resolve) => setImmediate(resolve));
  t.is(log.syncCount, synced, "a commit-only hard state is not synced on its own");
  await log.save(1, { entries: [entry(3, 1)] });
  t.is(log.syncCount, synced + 1);
  fs.crash({ mode: "drop", random: () => 0.5 });
  const reopened = await RaftLogStorage.open(fs, directory);
  t.deepEqual(reopened.takeRecovered(1)?.hardState, { term: 1, vote: 1, commit: 2 });
  await reopened.save(1, { hardState: { term: 2, vote: 3, commit: 2 } });
  t.is(reopened.syncCount, 1, "a new term or vote is synced before it is acknowledged");
});

async function crashRound(seed: number, mode: TearMode): Promise<string | undefined> {
  const random = new Prng(seed);
  const fs = new FaultFileSystem();
  const model = new Map<number, ModelGroup>();
  let log = await RaftLogStorage.open(fs, directory, { segmentBytesMax: 2048 });
  for (let round = 0; round < 6; round++) {
    for (let step = 0; step < 15; step++) {
      const groupId = 1 + random.int(3);
      const group = model.get(groupId) ?? {
        hardState: { term: 0, vote: 0, commit: 0 },
        offset: 0,
        offsetTerm: 0,
        entries: [],
      };
      model.set(groupId, group);
      const last = group.entries[group.entries.length - 1]?.index ?? group.offset;
      const roll = random.int(10);
      if (roll < 6) {
        const from = Math.max(group.offset + 1, last + 1 - random.int(3));
        const term = Math.max(1, group.hardState.term + random.int(2));
        const entries = Array.from({ length: 1 + random.int(4) }, (_, i) =>
          entry(from + i, term, `s${seed}r${round}s${step}`),
        );
        const hardState = { term, vote: random.int(3), commit: group.hardState.commit };
        await log.save(groupId, { entries, hardState });
        group.entries = group.entries.filter((e) => e.index < from).concat(entries);
        group.hardState = hardState;
      } else if (roll < 8 && last > group.offset) {
        const index = group.offset + 1 + random.int(last - group.offset);
        const term = group.entries.find((e) => e.index === index)!.term;
        await log.compact(groupId, index, term);
        group.entries = group.entries.filter((e) => e.index > index);
        group.offset = index;
        group.offsetTerm = term;
      } else {
        const index = last + 5;
        await log.save(groupId, {
          snapshot: {
            index,
            term: group.hardState.term,
            conf: { voters: [1], learners: [], votersOutgoing: [] },
          },
        });
        group.entries = [];
        group.offset = index;
        group.offsetTerm = group.hardState.term;
      }
    }
    // An unacknowledged write in flight: it may survive whole or not at all.
    const groupId = 1 + random.int(3);
    const group = model.get(groupId);
    const inflightFrom =
      (group?.entries[group.entries.length - 1]?.index ?? group?.offset ?? 0) + 1;
    const inflight = [entry(inflightFrom, group?.hardState.term ?? 1, "inflight")];
    log.save(groupId, { entries: inflight }).catch(() => {});
    if (random.chance(0.5)) await new Promise((resolve) => setImmediate(resolve));
    fs.crash({ mode, random: () => random.nextUint32() / 0x1_0000_0000 });
    log = await RaftLogStorage.open(fs, directory, { segmentBytesMax: 2048 });
    for (const [id, expected] of model) {
      const recovered = summary(log.takeRecovered(id));
      const withInflight =
        id === groupId
          ? summary({ ...expected, entries: [...expected.entries, ...inflight] })
          : undefined;
      const exact = JSON.stringify(recovered) === JSON.stringify(summary(expected));
      const extended =
        withInflight !== undefined && JSON.stringify(recovered) === JSON.stringify(withInflight);
      if (!exact && !extended) {
        return `seed ${seed} ${mode} round ${round} group ${id}: expected ${JSON.stringify(summary(expected))}, got ${JSON.stringify(recovered)}`;
      }
      if (extended) expected.entries.push(...inflight);
    }
    log = await RaftLogStorage.open(fs, directory, { segmentBytesMax: 2048 });
  }
  return undefined;
}

test("after any crash every acknowledged write is recovered exactly, across segments", async (t) => {
  const base = Number(process.env["SEED"] ?? Math.floor(Math.random() * 1e9));
  t.log(`SEED=${base}`);
  const failures: string[] = [];
  for (let i = 0; i < (process.env["MEMRAFT_LONG"] === "1" ? 400 : 40); i++) {
    for (const mode of ["drop", "torn", "garbage"] as const) {
      const failure = await crashRound(base + i, mode);
      if (failure !== undefined) failures.push(failure);
    }
  }
  t.deepEqual(failures.slice(0, 3), []);
});

async function writeSegments(fs: FaultFileSystem): Promise<RaftLogStorage> {
  const log = await RaftLogStorage.open(fs, directory, { segmentBytesMax: 512 });
  for (let i = 1; i <= 40; i++) await log.save(1, { entries: [entry(i, 1, "x".repeat(30))] });
  return log;
}

test("a flipped byte in an earlier segment is reported with its file and offset", async (t) => {
  const fs = new FaultFileSystem();
  const log = await writeSegments(fs);
  const [first] = log.segmentPaths();
  await log.close();
  fs.corrupt(first!, 60, Buffer.from([0xff]));
  const error = await t.throwsAsync(RaftLogStorage.open(fs, directory));
  t.true(MemraftError.is(error, "ERR_CORRUPTION"));
  t.is((error as MemraftError).context["file"], first);
  t.regex(error!.message, /00000001\.log at offset \d+: record checksum mismatch/);
});

test("damage followed by valid records in the last segment is corruption, not a torn tail", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  for (let i = 1; i <= 5; i++) await log.save(1, { entries: [entry(i, 1)] });
  const [path] = log.segmentPaths();
  await log.close();
  fs.corrupt(path!, 20 + 9, Buffer.from([0x00, 0x00]));
  const error = await t.throwsAsync(RaftLogStorage.open(fs, directory));
  t.true(MemraftError.is(error, "ERR_CORRUPTION"));
  t.is((error as MemraftError).context["offset"], 20);
});

test("a record cut short at the end of the last segment is dropped and reported as torn", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  for (let i = 1; i <= 3; i++) await log.save(1, { entries: [entry(i, 1)] });
  const [path] = log.segmentPaths();
  await log.close();
  const size = fs.contents(path!).length;
  await fs.truncate(path!, size - 3);
  const reopened = await RaftLogStorage.open(fs, directory);
  t.deepEqual(summary(reopened.takeRecovered(1))?.entries, ["1/1/e1t1", "2/1/e2t1"]);
  t.like(reopened.recovery.torn, {
    file: path,
    droppedBytes: size - 3 - reopened.recovery.torn!.offset,
  });
  await reopened.save(1, { entries: [entry(3, 2)] });
  await reopened.close();
  const again = await RaftLogStorage.open(fs, directory);
  t.deepEqual(summary(again.takeRecovered(1))?.entries, ["1/1/e1t1", "2/1/e2t1", "3/2/e3t2"]);
  t.is(again.recovery.torn, undefined);
});

test("segments whose entries are all compacted are deleted", async (t) => {
  const fs = new FaultFileSystem();
  const log = await writeSegments(fs);
  const before = log.segmentPaths().length;
  t.true(before > 3);
  await log.compact(1, 35, 1);
  for (let i = 41; i <= 60; i++) await log.save(1, { entries: [entry(i, 1, "x".repeat(30))] });
  t.true(log.segmentPaths().length < before);
  t.false(await fs.exists(`${directory}/00000001.log`));
  await log.close();
  const reopened = await RaftLogStorage.open(fs, directory);
  const group = reopened.takeRecovered(1)!;
  t.is(group.offset, 35);
  t.is(group.entries[0]?.index, 36);
  t.is(group.entries[group.entries.length - 1]?.index, 60);
});

test("a failed fsync fails the batch and every later write", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  await log.save(1, { entries: [entry(1, 1)] });
  fs.inject = (operation) =>
    operation === "sync" ? new MemraftError("ERR_IO", "injected sync failure") : undefined;
  const error = await t.throwsAsync(log.save(1, { entries: [entry(2, 1)] }));
  t.true(MemraftError.is(error, "ERR_IO"));
  fs.inject = undefined;
  t.throws(() => log.save(1, { entries: [entry(3, 1)] }), { message: /raft log write failed/ });
});

test("a removed group is not recovered, frees its segments, and can come back afresh", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory, { segmentBytesMax: 256 });
  for (let index = 1; index <= 20; index++) {
    await log.save(7, {
      entries: [entry(index, 1)],
      hardState: { term: 1, vote: 7, commit: index },
    });
    await log.save(8, {
      entries: [entry(index, 2)],
      hardState: { term: 2, vote: 8, commit: index },
    });
  }
  await log.compact(8, 20, 2);
  const segmentsBefore = log.segmentPaths().length;
  await log.removeGroup(7);
  // Group 7's entries pinned the old segments; the next roll may delete them.
  await log.save(8, { entries: [entry(21, 2)] });
  await log.save(8, { entries: [entry(22, 2)] });
  t.true(log.segmentPaths().length < segmentsBefore, "segments of a removed group are freed");
  await log.save(7, { entries: [entry(1, 5)], hardState: { term: 5, vote: 0, commit: 0 } });
  await log.close();

  const reopened = await RaftLogStorage.open(fs, directory);
  t.deepEqual(summary(reopened.takeRecovered(7)), {
    hardState: { term: 5, vote: 0, commit: 0 },
    offset: 0,
    offsetTerm: 0,
    entries: ["1/5/e1t5"],
  });
  await reopened.removeGroup(7);
  await reopened.close();
  const again = await RaftLogStorage.open(fs, directory);
  t.is(again.takeRecovered(7), undefined);
  t.deepEqual(again.groupIds(), [8]);
  await again.close();
});

test("a log whose write failed closes, even with records queued behind the failed write", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs, directory);
  let queuedBehind: Promise<void> | undefined;
  fs.inject = (operation) => {
    if (operation !== "sync") return undefined;
    // Another group's write arrives while the fsync is under way, then the fsync fails.
    queuedBehind ??= log.save(2, { entries: [entry(1, 1)] });
    return new MemraftError("ERR_IO", "injected sync failure");
  };
  await t.throwsAsync(log.save(1, { entries: [entry(1, 1)] }), {
    message: /raft log write failed/,
  });
  await t.throwsAsync(queuedBehind!, { message: /raft log write failed/ });
  fs.inject = undefined;
  // Before the fix close() waited for the queued records forever, in a loop of microtasks.
  await log.close();
  t.pass();
});

test("a new log's directories survive a crash right after the first acknowledged write", async (t) => {
  const fs = new FaultFileSystem();
  const log = await RaftLogStorage.open(fs.processView(), "/fresh/node/raft-log");
  await log.save(1, { entries: [entry(1, 1)], hardState: { term: 1, vote: 1, commit: 1 } });
  fs.crash({ mode: "drop", random: () => 0 });
  const reopened = await RaftLogStorage.open(fs, "/fresh/node/raft-log");
  t.deepEqual(summary(reopened.takeRecovered(1))?.entries, ["1/1/e1t1"]);
  await reopened.close();
});
