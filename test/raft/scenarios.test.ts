// The known traps of Raft (research notes §3.7), each played out step by
// step on a hand-driven cluster whose every Ready passes the simulator's
// safety checks.

import test from "ava";
import { ConfChangeType } from "../../src/raft/conf-change.js";
import { MessageType } from "../../src/raft/types.js";
import { Cluster } from "./cluster.js";

test("figure 8: a leader does not commit an old-term entry by counting replicas", (t) => {
  // One entry per append message, so replication can be cut between entries.
  // Without check-quorum, so followers vote as soon as asked (the paper's setting).
  const cluster = Cluster.of(5, { messageBytesMax: 1, checkQuorum: false });
  cluster.elect(1);
  // Term 2 (entry 1 is the bootstrap configuration, term 1): node 1 writes
  // A at index 3 but only node 2 gets it.
  cluster.partition([1, 2], [3, 4, 5]);
  cluster.propose(1, "A");
  cluster.stabilize();
  t.is(cluster.raft(2).log.term(3), 2);
  // Term 3: node 5 wins with 3 and 4 and writes its no-op at index 3, alone.
  cluster.heal();
  cluster.isolate(1);
  cluster.partition([5], [2]);
  cluster.node(5).raw.campaign();
  for (let round = 0; round < 6 && cluster.raft(5).role !== "leader"; round++) {
    cluster.process();
    cluster.deliver({ drop: (m) => m.type === MessageType.append });
  }
  cluster.process([5]);
  t.is(cluster.raft(5).role, "leader");
  t.is(cluster.raft(5).log.term(3), 3);
  cluster.queue = [];
  // Term 4+: node 1 restarts, comes back without 5, wins, and copies A (term 2) on.
  cluster.heal();
  cluster.isolate(5);
  cluster.restart(1);
  // Its first pre-vote (term 3) is refused by voters already in term 3.
  for (let attempt = 0; attempt < 3 && cluster.raft(1).role !== "leader"; attempt++) {
    cluster.node(1).raw.campaign();
    for (let round = 0; round < 6 && cluster.raft(1).role !== "leader"; round++) {
      cluster.process();
      cluster.deliver({ drop: (m) => m.type === MessageType.append });
    }
  }
  t.is(cluster.raft(1).role, "leader");
  // Followers get A (index 3, term 2), but never the term-4 no-op after it.
  const holdsA = (id: number) => cluster.raft(id).log.lastIndex() >= 3;
  for (let round = 0; round < 8; round++) {
    cluster.process();
    cluster.deliver({
      drop: (m) =>
        m.type === MessageType.append && m.entries.some((e) => e.index > 3) && holdsA(m.to),
    });
  }
  cluster.process();
  t.true(
    [1, 2, 3].every((id) => cluster.raft(id).log.term(3) === 2),
    "A sits on a majority",
  );
  t.is(cluster.raft(1).log.committed, 2, "yet it is not committed: it is from an older term");
  // Node 5 can still win (its last term beats theirs) and replace A: safe,
  // because nobody applied A.
  cluster.stop(1);
  cluster.queue = [];
  cluster.heal();
  cluster.restart(5);
  for (let i = 0; i < 80 && cluster.raft(5).role !== "leader"; i++) {
    cluster.tick(5);
    cluster.stabilize();
  }
  t.is(cluster.raft(5).role, "leader");
  cluster.propose(5, "B");
  cluster.stabilize();
  for (const id of [2, 3, 4, 5]) t.deepEqual(cluster.appliedTexts(id), ["B"]);
});

test("divergent follower logs are repaired to the leader's, with conflict hints", (t) => {
  const cluster = Cluster.of(3, { checkQuorum: false });
  cluster.elect(1);
  cluster.propose(1, "a");
  cluster.stabilize();
  // The old leader, cut off, keeps uncommitted entries of its term.
  cluster.isolate(1);
  for (const text of ["x1", "x2", "x3"]) cluster.propose(1, text);
  cluster.stabilize();
  // The others move on in a new term with entries of their own.
  cluster.elect(2);
  for (const text of ["b", "c"]) cluster.propose(2, text);
  cluster.stabilize();
  t.is(cluster.raft(2).role, "leader");
  cluster.heal();
  for (let i = 0; i < 5; i++) {
    cluster.tick(2);
    cluster.stabilize();
  }
  const rejects = cluster.lines.filter(
    (line) => line.startsWith("1->2 append-response") && line.includes("reject hint"),
  );
  t.true(rejects.length <= 2, `conflict hints keep round trips few: ${rejects.join("; ")}`);
  for (const id of [1, 2, 3]) t.deepEqual(cluster.appliedTexts(id), ["a", "b", "c"]);
  t.deepEqual(
    cluster.node(1).stored.map((e) => e.term),
    cluster.node(2).stored.map((e) => e.term),
  );
});

test("a partitioned old leader serves no stale read", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.propose(1, "x=1");
  cluster.stabilize();
  cluster.isolate(1);
  // The majority elects a new leader and writes.
  const leader = cluster.tickUntilLeader([2, 3], 30);
  cluster.propose(leader, "x=2");
  cluster.stabilize();
  // The old leader still believes it leads; its read must not complete.
  t.is(cluster.raft(1).role, "leader");
  cluster.node(1).raw.readIndex(42);
  for (let i = 0; i < 5; i++) {
    cluster.tick(1);
    cluster.stabilize();
  }
  t.deepEqual(cluster.node(1).readStates, []);
  // Once it hears the new term it steps down, and the read is gone.
  cluster.heal();
  cluster.tick(leader);
  cluster.stabilize();
  t.is(cluster.raft(1).role, "follower");
  t.deepEqual(cluster.node(1).readStates, []);
});

test("an immediate read index is offered to a lone leader, never to one that needs a confirmation round, and asking registers no read", (t) => {
  const alone = Cluster.of(1, { quiesce: false });
  alone.elect(1);
  alone.stabilize();
  t.is(alone.node(1).raw.immediateReadIndex(), alone.raft(1).log.committed);
  const three = Cluster.of(3, { quiesce: false });
  three.elect(1);
  three.stabilize();
  t.is(three.node(1).raw.immediateReadIndex(), undefined, "a safe read needs a heartbeat round");
  t.false(three.node(1).raw.hasReady(), "and asking sent nothing and queued no read");
  three.node(1).raw.readIndex(7);
  three.stabilize();
  t.deepEqual(
    three.node(1).readStates.map((r) => r.context),
    [7],
    "only the read that was registered is answered",
  );
});

test("a lease read stops being served once the lease runs out in a partition", (t) => {
  const cluster = Cluster.of(3, { readMode: "lease", quiesce: false });
  for (let i = 0; i < 12; i++) for (const id of [1, 2, 3]) cluster.tick(id);
  cluster.elect(1);
  cluster.tick(1);
  cluster.stabilize();
  const committed = cluster.raft(1).log.committed;
  t.is(cluster.node(1).raw.immediateReadIndex(), committed, "offered at once under the lease");
  t.is(cluster.node(2).raw.immediateReadIndex(), undefined, "never on a follower");
  cluster.node(1).raw.readIndex(1);
  cluster.process([1]);
  t.deepEqual(
    cluster.node(1).readStates.map((r) => r.context),
    [1],
    "served at once under the lease",
  );
  cluster.isolate(1);
  for (let i = 0; i < 8; i++) cluster.tick(1);
  t.is(cluster.node(1).raw.immediateReadIndex(), undefined, "not once the lease ran out");
  cluster.node(1).raw.readIndex(2);
  cluster.stabilize();
  t.deepEqual(
    cluster.node(1).readStates.map((r) => r.context),
    [1],
    "no lease after electionTicks - drift",
  );
});

test("a leader that went quiet serves no lease read before a quorum answers a heartbeat sent after it woke", (t) => {
  const cluster = Cluster.of(3, { readMode: "lease" });
  for (let i = 0; i < 12; i++) for (const id of [1, 2, 3]) cluster.tick(id);
  cluster.elect(1);
  cluster.tick(1);
  cluster.stabilize();
  t.true(cluster.node(1).raw.quiesced, "an idle group goes quiet");
  t.true(cluster.node(2).raw.quiesced);
  // Quiet, the leader's lease clock stood still: its last heartbeats look
  // fresh, but any time may have passed, and the others may have elected
  // a new leader. The read must wait for a new round.
  cluster.isolate(1);
  t.is(cluster.node(1).raw.immediateReadIndex(), undefined, "not offered while quiet");
  cluster.node(1).raw.readIndex(1);
  cluster.stabilize();
  t.deepEqual(cluster.node(1).readStates, [], "no read from a lease older than the wake");
  cluster.heal();
  cluster.tick(1);
  cluster.stabilize();
  t.deepEqual(
    cluster.node(1).readStates.map((r) => r.context),
    [1],
    "served once a quorum answered",
  );
  cluster.node(1).raw.readIndex(2);
  cluster.process([1]);
  t.true(
    cluster.node(1).readStates.some((r) => r.context === 2),
    "and later reads are served at once under the renewed lease",
  );
});

test("answers to heartbeats sent before a leader went quiet do not wake it", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.tick(1);
  cluster.stabilize();
  t.true(
    [1, 2, 3].every((id) => cluster.node(id).raw.quiesced),
    "idle and quiet",
  );
  // The leader wakes and heartbeats; the followers wake and answer, but the
  // answers are still on the way when the next heartbeat tick quiets it again.
  cluster.node(1).raw.wake();
  cluster.process([1]);
  cluster.deliver();
  cluster.process([2, 3]);
  cluster.tick(1);
  cluster.process([1]);
  t.true(cluster.node(1).raw.quiesced, "quiet again");
  const delivered = cluster.deliver();
  t.true(delivered >= 4, "the stale answers and the quiescing heartbeats crossed");
  t.true(
    [1, 2, 3].every((id) => cluster.node(id).raw.quiesced),
    "nobody woke",
  );
  cluster.tick(1, 5);
  cluster.process();
  t.is(cluster.deliver(), 0, "and nothing more is sent");
});

test("a disruptive rejoining node does not depose a healthy leader (pre-vote)", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.isolate(3);
  // Node 3 times out again and again, alone.
  for (let i = 0; i < 100; i++) {
    cluster.tick(3);
    for (const id of [1, 2]) cluster.tick(id);
    cluster.stabilize();
  }
  t.is(cluster.raft(3).term, 2, "pre-vote kept its term from growing");
  cluster.heal();
  cluster.tick(3, 30);
  cluster.stabilize();
  cluster.tick(1);
  cluster.stabilize();
  t.is(cluster.raft(1).role, "leader");
  t.is(cluster.raft(1).term, 2);
  t.is(cluster.raft(3).lead, 1);
});

test("without pre-vote the same node would depose the leader, as the contrast shows", (t) => {
  const cluster = Cluster.of(3, { preVote: false, checkQuorum: false });
  cluster.elect(1);
  cluster.isolate(3);
  cluster.tick(3, 30);
  cluster.stabilize();
  t.true(cluster.raft(3).term > 2);
  cluster.heal();
  cluster.tick(3, 30);
  cluster.stabilize();
  t.true(cluster.raft(1).term > 2, "the leader's term was bumped by the rejoining node");
});

test("removing the leader: it commits its own removal, steps down, and the rest go on", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.propose(1, "before");
  cluster.stabilize();
  cluster.node(1).raw.proposeConfChange([{ type: ConfChangeType.removeNode, nodeId: 1 }]);
  cluster.stabilize();
  t.is(cluster.raft(1).role, "follower");
  t.deepEqual(cluster.raft(1).conf.voters, [2, 3]);
  const leader = cluster.tickUntilLeader([2, 3], 40, [1]);
  t.deepEqual(cluster.raft(leader).conf.voters, [2, 3]);
  cluster.propose(leader, "after");
  cluster.stabilize();
  t.deepEqual(cluster.appliedTexts(leader), ["before", "after"]);
  t.is(cluster.raft(1).role, "follower", "the removed node never campaigns");
});

test("a snapshot for entries the follower already has advances its commit without wiping its log", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  for (const text of ["a", "b", "c"]) cluster.propose(1, text);
  // Node 3 gets the entries but never the commit index that covers them.
  cluster.process([1]);
  cluster.deliver();
  cluster.process([2, 3]);
  cluster.cutOneWay(1, 3);
  cluster.stabilize();
  cluster.heal();
  const three = cluster.raft(3);
  const last = three.log.lastIndex();
  t.is(last, 5);
  t.true(three.log.committed < 5);
  // The leader snapshots at 5 and sends it (index 5 is in 3's log already).
  const one = cluster.raft(1);
  cluster.node(1).raw.createSnapshot(one.log.applied, new Uint8Array([1, 2, 3]));
  three.step({
    groupId: 1,
    from: 1,
    to: 3,
    term: one.term,
    type: MessageType.snapshot,
    meta: one.latestSnapshot!.meta,
    totalBytes: 3,
    offset: 0,
    chunk: new Uint8Array([1, 2, 3]),
  });
  t.is(three.log.lastIndex(), last, "log kept");
  t.is(three.log.committed, one.latestSnapshot!.meta.index);
  t.true(cluster.lines.some((line) => line.includes("advances commit only")));
  cluster.stabilize();
  t.deepEqual(cluster.appliedTexts(3), ["a", "b", "c"]);
});

test("a snapshot is sent in chunks and resumes where the follower stopped", (t) => {
  const cluster = Cluster.of(3, { snapshotChunkBytes: 4 });
  cluster.elect(1);
  cluster.isolate(3);
  for (const text of ["a", "b", "c", "d"]) cluster.propose(1, text);
  cluster.stabilize();
  const one = cluster.raft(1);
  cluster.node(1).raw.createSnapshot(one.log.applied, new TextEncoder().encode("0123456789abcdef"));
  cluster.node(1).raw.compact(one.log.applied);
  cluster.heal();
  let chunks = 0;
  // Drop two chunks: the heartbeat round resends from the confirmed offset.
  let dropped = 0;
  for (let i = 0; i < 30 && cluster.raft(3).log.committed < one.log.committed; i++) {
    cluster.tick(1);
    cluster.process();
    cluster.deliver({
      drop: (m) => {
        if (m.type !== MessageType.snapshot) return false;
        chunks++;
        if (chunks % 2 === 1 || dropped === 2) return false;
        dropped++;
        return true;
      },
    });
  }
  cluster.stabilize();
  t.is(dropped, 2);
  t.deepEqual(new TextDecoder().decode(cluster.node(3).snapshot!.data), "0123456789abcdef");
  cluster.propose(1, "e");
  cluster.stabilize();
  t.deepEqual(cluster.appliedTexts(3), ["e"]);
  t.is(cluster.raft(3).log.committed, one.log.committed);
});

test("a leader whose disk write fails stops, and no entry it did not persist is acknowledged", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.node(1).failNextWrite = true;
  const index = cluster.propose(1, "lost?");
  cluster.stabilize();
  t.true(cluster.node(1).down);
  t.false(
    cluster.node(1).stored.some((e) => e.index === index),
    "not durable on the leader",
  );
  t.false(
    [2, 3].some((id) => cluster.raft(id).log.lastIndex() >= index),
    "never sent: messages wait for the write",
  );
  const leader = cluster.tickUntilLeader([2, 3], 40);
  cluster.propose(leader, "next");
  cluster.restart(1);
  for (let i = 0; i < 3; i++) {
    cluster.tick(leader);
    cluster.stabilize();
  }
  for (const id of [1, 2, 3]) t.deepEqual(cluster.appliedTexts(id), ["next"]);
});

test("leadership transfer hands over to a caught-up follower without an election timeout", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.propose(1, "a");
  cluster.stabilize();
  cluster.node(1).raw.transferLeadership(3);
  t.throws(() => cluster.propose(1, "refused"), { message: /transfer in progress/ });
  cluster.stabilize();
  t.is(cluster.raft(3).role, "leader");
  t.is(cluster.raft(1).lead, 3);
});

test("a learner receives the log but does not count toward commit, then is promoted", (t) => {
  const cluster = Cluster.of(3);
  // A joining node starts empty and learns the configuration from the leader.
  cluster.addNode(4, { join: true });
  cluster.elect(1);
  cluster.node(1).raw.proposeConfChange([{ type: ConfChangeType.addLearner, nodeId: 4 }]);
  cluster.stabilize();
  cluster.propose(1, "a");
  cluster.stabilize();
  t.deepEqual(cluster.appliedTexts(4), ["a"]);
  cluster.isolate(2);
  cluster.isolate(3);
  const index = cluster.propose(1, "b");
  cluster.stabilize();
  t.true(cluster.raft(1).log.committed < index, "leader + learner is no quorum");
  cluster.heal();
  cluster.stabilize();
  cluster.node(1).raw.proposeConfChange([{ type: ConfChangeType.addVoter, nodeId: 4 }]);
  cluster.stabilize();
  t.deepEqual(cluster.raft(4).conf.voters, [1, 2, 3, 4]);
  t.throws(
    () => {
      cluster.node(1).raw.proposeConfChange([{ type: ConfChangeType.removeNode, nodeId: 2 }]);
      cluster.node(1).raw.proposeConfChange([{ type: ConfChangeType.removeNode, nodeId: 3 }]);
    },
    { message: /configuration change is pending/ },
  );
});
