// Pipelined Readies as one member sees them: a committed entry is applied
// only once the write holding it has synced, never before an earlier
// Ready's entries, and advance() follows the order the Readies were taken.

import test from "ava";
import { MemberPipeline, type PipelinedMember } from "../../src/cluster/member-pipeline.js";
import type { Ready } from "../../src/raft/raw-node.js";
import { type Entry, EntryType } from "../../src/raft/types.js";

function entries(from: number, to: number): Entry[] {
  const list: Entry[] = [];
  for (let index = from; index <= to; index++)
    list.push({ index, term: 2, type: EntryType.normal, data: new Uint8Array() });
  return list;
}

function ready(written: Entry[], committed: Entry[]): Ready {
  return {
    softState: undefined,
    hardState: undefined,
    snapshot: undefined,
    entries: written,
    committedEntries: committed,
    messages: [],
    readStates: [],
    mustSync: written.length > 0,
  };
}

/** A write's fsync, finished by the test. */
function fsync(): { promise: Promise<void>; done(): void } {
  let done!: () => void;
  const promise = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { promise, done };
}

function member(stable: number) {
  const applied: number[] = [];
  let advances = 0;
  const fake: PipelinedMember = {
    raw: {
      advance: () => {
        advances++;
      },
      raft: { log: { stable } },
    },
    roleChanged: () => {},
    confirmReads: () => {},
    applyCommitted: async (list) => {
      for (const entry of list) applied.push(entry.index);
    },
  };
  return { fake, applied, advances: () => advances };
}

/** Lets every pending promise reaction run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("a committed entry waits for the write holding it, not for a later one", async (t) => {
  const { fake, applied, advances } = member(5);
  const pipeline = new MemberPipeline(fake);
  const first = fsync();
  const second = fsync();
  // The leader writes 6..8; its followers acknowledge before its own fsync
  // ends, so the next Ready (writing 9) hands out 6..8 as committed.
  const one = pipeline.take(ready(entries(6, 8), []), first.promise);
  const two = pipeline.take(ready(entries(9, 9), entries(6, 8)), second.promise);
  await settle();
  t.deepEqual(applied, [], "nothing committed is durable here yet");
  first.done();
  await one;
  await settle();
  t.deepEqual(applied, [6, 7, 8], "applied when the first write syncs, before the second");
  t.is(advances(), 1, "the second Ready is not advanced before its own fsync");
  second.done();
  await two;
  t.is(advances(), 2);
});

test("entries already durable are applied at once, even while this Ready's write syncs", async (t) => {
  const { fake, applied } = member(10);
  const pipeline = new MemberPipeline(fake);
  const write = fsync();
  const taken = pipeline.take(ready(entries(11, 12), entries(9, 12)), write.promise);
  await settle();
  t.deepEqual(applied, [9, 10], "the durable prefix goes first");
  write.done();
  await taken;
  t.deepEqual(applied, [9, 10, 11, 12]);
});

test("a write that replaces entries makes them not durable until it syncs", async (t) => {
  const { fake, applied } = member(5);
  const pipeline = new MemberPipeline(fake);
  const first = fsync();
  const second = fsync();
  const third = fsync();
  pipeline.take(ready(entries(6, 9), []), first.promise);
  // A new leader's entries replace 8 and 9 before the first write synced.
  pipeline.take(ready(entries(8, 10), []), second.promise);
  first.done();
  await settle();
  const last = pipeline.take(ready([], entries(6, 9)), third.promise);
  await settle();
  t.deepEqual(applied, [6, 7], "8 and 9 as the log now holds them are not yet synced");
  second.done();
  third.done();
  await last;
  t.deepEqual(applied, [6, 7, 8, 9]);
});

test("Readies apply in the order taken, whatever order their writes finish in", async (t) => {
  const { fake, applied, advances } = member(0);
  const pipeline = new MemberPipeline(fake);
  const first = fsync();
  const second = fsync();
  const one = pipeline.take(ready(entries(1, 2), entries(1, 2)), first.promise);
  const two = pipeline.take(ready(entries(3, 3), entries(3, 3)), second.promise);
  second.done();
  await settle();
  t.deepEqual(applied, [], "the second Ready's entries wait for the first's");
  t.is(advances(), 0);
  first.done();
  await Promise.all([one, two]);
  t.deepEqual(applied, [1, 2, 3]);
  t.is(advances(), 2);
});
