// The Ready contract as an owner sees it: what must be durable travels in
// the same Ready as the messages that depend on it, and idle groups cost
// nothing but a counter per tick.

import test from "ava";
import { ConfChangeType, decodeConfChange } from "../../src/raft/conf-change.js";
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

test("pipelined Readies hand out each entry and each commit once, and commit follows the oldest advance", (t) => {
  const solo = node(1, [1]);
  solo.campaign();
  const first = solo.ready();
  t.false(solo.hasReady(), "nothing new since the first Ready");
  solo.propose(new Uint8Array([7]));
  t.true(solo.hasReady());
  const second = solo.ready();
  t.is(solo.readiesOutstanding, 2);
  t.deepEqual(
    second.entries.map((e) => e.index),
    [3],
    "only the entry proposed since the first Ready",
  );
  t.deepEqual(second.committedEntries, [], "entry 1 was handed out already; 2 is not durable");
  t.deepEqual(
    first.committedEntries.map((e) => e.index),
    [1],
  );
  solo.advance();
  t.is(solo.status().hardState.commit, 2, "the first Ready's write commits the no-op");
  t.is(solo.status().applied, 1);
  const third = solo.ready();
  t.deepEqual(
    third.committedEntries.map((e) => e.index),
    [2],
    "entry 3 is not committed until the second Ready is advanced",
  );
  solo.advance();
  solo.advance();
  t.is(solo.status().hardState.commit, 3);
  t.deepEqual(
    solo.ready().committedEntries.map((e) => e.index),
    [3],
  );
  solo.advance();
  t.is(solo.readiesOutstanding, 0);
  t.is(solo.status().applied, 3);
  t.throws(() => solo.advance(), { message: /without ready/ });
});

test("a snapshot waits until the outstanding Readies are advanced", (t) => {
  const leader = node(1, [1]);
  leader.campaign();
  leader.ready();
  leader.advance();
  leader.ready();
  leader.advance();
  const snapshot = leader.createSnapshot(leader.status().applied, new Uint8Array([1, 2, 3]));
  const follower = new RawNode(
    { id: 2, groupId: 9, random: new Prng(2), logger: silentRaftLogger },
    RawNode.joiningState(),
  );
  follower.step({
    groupId: 9,
    from: 1,
    to: 2,
    term: 2,
    type: MessageType.heartbeat,
    commit: 0,
    context: 0,
    quiesce: false,
  });
  follower.ready();
  t.is(follower.readiesOutstanding, 1);
  follower.step({
    groupId: 9,
    from: 1,
    to: 2,
    term: 2,
    type: MessageType.snapshot,
    meta: snapshot.meta,
    totalBytes: snapshot.data.length,
    offset: 0,
    chunk: snapshot.data,
  });
  t.true(follower.snapshotWaits());
  t.false(follower.hasReady(), "the snapshot is not handed out beside an outstanding Ready");
  t.throws(() => follower.ready(), { message: /snapshot Ready before the outstanding/ });
  follower.advance();
  t.false(follower.snapshotWaits());
  const ready = follower.ready();
  t.is(ready.snapshot?.meta.index, snapshot.meta.index);
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
