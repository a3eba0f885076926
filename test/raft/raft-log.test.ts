// The in-memory log's rules, table-driven: conflict search for fast
// back-off, appends that replace a conflicting suffix, the up-to-date rule.

import test from "ava";
import { RaftLog } from "../../src/raft/raft-log.js";
import type { Entry } from "../../src/raft/types.js";

function logOf(terms: number[], offset = 0, offsetTerm = 0): RaftLog {
  const entries: Entry[] = terms.map((term, i) => ({
    index: offset + 1 + i,
    term,
    type: 0,
    data: new Uint8Array(),
  }));
  return RaftLog.restore({
    offset,
    offsetTerm,
    entries,
    committed: offset,
    applied: offset,
    durable: true,
  });
}

const conflictCases: { log: number[]; index: number; term: number; want: number }[] = [
  { log: [1, 1, 2, 2, 4], index: 5, term: 3, want: 4 },
  { log: [1, 1, 2, 2, 4], index: 5, term: 1, want: 2 },
  { log: [1, 1, 2, 2, 4], index: 3, term: 5, want: 3 },
  { log: [1, 1, 2, 2, 4], index: 9, term: 4, want: 5 },
  { log: [2, 2, 2], index: 3, term: 1, want: 0 },
  { log: [], index: 3, term: 1, want: 0 },
];

for (const { log, index, term, want } of conflictCases) {
  test(`the last index at or below ${index} with term <= ${term} in [${log}] is ${want}`, (t) => {
    t.is(logOf(log).findConflictByTerm(index, term), want);
  });
}

test("an append that agrees with the log keeps it, and one that conflicts replaces the suffix", (t) => {
  const log = logOf([1, 1, 1, 1]);
  log.stable = 4;
  t.is(log.appendFromLeader(1, [{ index: 2, term: 1, type: 0, data: new Uint8Array() }]), 2);
  t.is(log.lastIndex(), 4, "a stale shorter append must not truncate");
  t.is(log.appendFromLeader(2, [{ index: 3, term: 2, type: 0, data: new Uint8Array() }]), 3);
  t.deepEqual(
    log.entries.map((e) => e.term),
    [1, 1, 2],
  );
  t.is(log.stable, 2, "the replaced entries are no longer durable");
  t.is(log.unstableFrom, 3);
});

test("replacing a committed entry is a bug and fails loudly", (t) => {
  const log = logOf([1, 1, 1]);
  log.commitTo(3);
  t.throws(
    () => log.appendFromLeader(1, [{ index: 2, term: 2, type: 0, data: new Uint8Array() }]),
    { message: /below commit/ },
  );
});

const upToDate: { log: number[]; lastIndex: number; lastTerm: number; want: boolean }[] = [
  { log: [1, 2], lastIndex: 1, lastTerm: 3, want: true },
  { log: [1, 2], lastIndex: 5, lastTerm: 1, want: false },
  { log: [1, 2], lastIndex: 2, lastTerm: 2, want: true },
  { log: [1, 2], lastIndex: 1, lastTerm: 2, want: false },
];

for (const { log, lastIndex, lastTerm, want } of upToDate) {
  test(`a candidate ending at ${lastIndex}/${lastTerm} is ${want ? "" : "not "}as up to date as [${log}]`, (t) => {
    t.is(logOf(log).isUpToDate(lastIndex, lastTerm), want);
  });
}

test("compaction keeps terms answerable at the compaction point and refuses to pass applied", (t) => {
  const log = logOf([1, 2, 3, 3]);
  log.commitTo(4);
  log.applied = 3;
  log.stable = 4;
  log.compactTo(2);
  t.is(log.term(2), 2);
  t.is(log.term(1), undefined);
  t.is(log.slice(2, 100), undefined, "entries before the first index are gone");
  t.deepEqual(
    log.slice(3, 100)?.map((e) => e.index),
    [3, 4],
  );
  t.throws(() => log.compactTo(4), { message: /beyond applied/ });
});
