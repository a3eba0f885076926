// The Ready contract as an owner sees it: what must be durable travels in
// the same Ready as the messages that depend on it, and idle groups cost
// nothing but a counter per tick.

import test from "ava";
import { ConfChangeType, decodeConfChange } from "../../src/raft/conf-change.js";
import { readyWrite } from "../../src/raft/log-storage/log-storage.js";
import { silentRaftLogger } from "../../src/raft/logger.js";
import { Prng } from "../../src/raft/prng.js";
import { RawNode } from "../../src/raft/raw-node.js";
import { EntryType, MessageType } from "../../src/raft/types.js";

function node(id: number, voters = [1, 2, 3]): RawNode {
  return new RawNode(
    { id, groupId: 9, random: new Prng(id), logger: silentRaftLogger },
    RawNode.bootstrapState({ voters, learners: [] }),
  );
}

test("a granted vote leaves in the same Ready as the durable vote, with a sync", (t) => {
  const voter = node(2);
  voter.ready();
  voter.advance();
  voter.step({
    groupId: 9,
    from: 1,
    to: 2,
    term: 2,
    type: MessageType.vote,
    index: 1,
    logTerm: 1,
    transfer: false,
  });
  const ready = voter.ready();
  t.deepEqual(ready.hardState, { term: 2, vote: 1, commit: 1 });
  t.true(ready.mustSync);
  t.like(ready.messages[0], { type: MessageType.voteResponse, reject: false, term: 2 });
});

test("a new group's first Ready persists and applies its configuration entry", (t) => {
  const member = node(2);
  const ready = member.ready();
  t.deepEqual(ready.hardState, { term: 1, vote: 0, commit: 1 });
  t.true(ready.mustSync);
  t.deepEqual(
    ready.entries.map((e) => [e.index, e.term, e.type]),
    [[1, 1, EntryType.confChange]],
  );
  t.deepEqual(ready.committedEntries, ready.entries);
  t.deepEqual(decodeConfChange(ready.entries[0]!.data), [
    { type: ConfChangeType.addVoter, nodeId: 1 },
    { type: ConfChangeType.addVoter, nodeId: 2 },
    { type: ConfChangeType.addVoter, nodeId: 3 },
  ]);
  member.advance();
  t.deepEqual(member.status().conf, { voters: [1, 2, 3], learners: [], votersOutgoing: [] });
  t.false(member.hasReady());
});

test("a single voter commits only after its own entry is persisted", (t) => {
  const solo = node(1, [1]);
  solo.campaign();
  const first = solo.ready();
  t.is(first.softState?.role, "leader");
  t.deepEqual(
    first.entries.map((e) => e.index),
    [1, 2],
  );
  t.deepEqual(
    first.committedEntries.map((e) => e.index),
    [1],
    "only the bootstrap entry, committed by definition; the no-op waits for its write",
  );
  solo.advance();
  const second = solo.ready();
  t.deepEqual(
    second.committedEntries.map((e) => e.index),
    [2],
  );
  t.is(second.hardState?.commit, 2);
});

test("a Ready that moves only the commit asks for no sync, and its log write says so", (t) => {
  const solo = node(1, [1]);
  solo.campaign();
  const first = solo.ready();
  t.true(first.mustSync);
  t.is(readyWrite(first)?.mustSync, true);
  solo.advance();
  const second = solo.ready();
  t.deepEqual(second.entries, []);
  t.is(second.hardState?.commit, 2);
  t.false(second.mustSync);
  t.like(readyWrite(second), { hardState: { commit: 2 }, mustSync: false });
});

test("no Ready is handed out before the previous one is advanced", (t) => {
  const solo = node(1, [1]);
  solo.campaign();
  solo.ready();
  t.false(solo.hasReady());
  t.throws(() => solo.ready(), { message: /before advance/ });
});

test("ten thousand idle follower groups produce no work when ticked", (t) => {
  const groups = Array.from({ length: 10_000 }, (_, i) => {
    const raw = new RawNode(
      { id: 2, groupId: i, random: new Prng(i), logger: silentRaftLogger, electionTicks: 1000 },
      RawNode.bootstrapState({ voters: [1, 2, 3], learners: [] }),
    );
    raw.ready();
    raw.advance();
    return raw;
  });
  for (let tick = 0; tick < 5; tick++) for (const raw of groups) raw.tick();
  t.false(groups.some((raw) => raw.hasReady()));
});

test("a vote request from a lower term is rejected with the higher term, and the candidate catches up", (t) => {
  const voter = node(2);
  voter.ready();
  voter.advance();
  const vote = { groupId: 9, to: 2, type: MessageType.vote, index: 1, logTerm: 1, transfer: false };
  voter.step({ ...vote, from: 3, term: 5 });
  voter.ready();
  voter.advance();
  // Without the answer, a candidate a term behind a member that keeps
  // campaigning never learns the term it must go beyond.
  voter.step({ ...vote, from: 1, term: 3 });
  const ready = voter.ready();
  t.like(ready.messages[0], { type: MessageType.voteResponse, to: 1, term: 5, reject: true });
  const candidate = node(1);
  candidate.ready();
  candidate.advance();
  candidate.campaign();
  candidate.step(ready.messages[0]!);
  t.like(candidate.status(), { role: "follower", hardState: { term: 5, vote: 0, commit: 1 } });
});
