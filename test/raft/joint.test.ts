// Joint consensus on a hand-driven cluster whose every Ready passes the
// simulator's safety checks: the replica move (add a learner on a new
// node, promote it and remove an old voter in one change), quorums that
// need both halves, the automatic leave and its retries, a leader that
// removes itself, and members that join with nothing.

import test from "ava";
import { type ConfChange, ConfChangeType } from "../../src/raft/conf-change.js";
import { type Message, MessageType } from "../../src/raft/types.js";
import { Cluster } from "./cluster.js";

const { addVoter, addLearner, removeNode } = ConfChangeType;

function replace(add: number, remove: number): ConfChange[] {
  return [
    { type: addVoter, nodeId: add },
    { type: removeNode, nodeId: remove },
  ];
}

/** Three voters led by 1, and a joiner 4 added as a caught-up learner. */
function withLearner(): Cluster {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.addNode(4, { join: true });
  cluster.node(1).raw.proposeConfChange([{ type: addLearner, nodeId: 4 }]);
  cluster.stabilize();
  cluster.propose(1, "a");
  cluster.stabilize();
  return cluster;
}

/** Settles everything but the leave entry (index 6), which reaches nobody. */
function holdLeave(cluster: Cluster): void {
  for (let round = 0; round < 10; round++) {
    cluster.process();
    cluster.deliver({
      drop: (m) => m.type === MessageType.append && m.entries.some((e) => e.index >= 6),
    });
  }
}

test("a replica move goes through a joint configuration and leaves it by itself", (t) => {
  const cluster = withLearner();
  t.deepEqual(cluster.appliedTexts(4), ["a"], "the joiner caught up from the log");
  t.deepEqual(cluster.raft(4).conf, { voters: [1, 2, 3], learners: [4], votersOutgoing: [] });
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  cluster.stabilize();
  const expected = { voters: [1, 2, 4], learners: [], votersOutgoing: [] };
  // The removed 3 is told no more once the leave applies: its data is for deleting.
  for (const id of [1, 2, 4]) t.deepEqual(cluster.raft(id).conf, expected);
  const applied = cluster.lines.filter((line) => line.startsWith("1 applies conf change"));
  t.deepEqual(applied.slice(-2), [
    "1 applies conf change at 5: voters [1,2,4] outgoing [1,2,3] learners []",
    "1 applies conf change at 6: voters [1,2,4] learners []",
  ]);
  t.true(cluster.lines.includes("1 proposes leaving the joint configuration at 6"));
  cluster.propose(1, "b");
  cluster.stabilize();
  t.deepEqual(cluster.appliedTexts(4), ["a", "b"]);
});

test("a joint entry applied while its leave cannot commit keeps both majorities in force", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  // The joint entry commits everywhere, but the leave entry reaches nobody.
  holdLeave(cluster);
  const status = cluster.node(1).raw.status();
  t.true(status.joint);
  t.deepEqual(status.conf.votersOutgoing, [1, 2, 3]);
  t.true(status.confChangePending, "the leave is in flight");
  t.throws(() => cluster.node(1).raw.proposeConfChange([{ type: addLearner, nodeId: 9 }]), {
    message: /configuration change is pending/,
  });
  // 1 and 4 are a majority of the incoming voters {1,2,4} but not of {1,2,3}.
  cluster.isolate(2);
  cluster.isolate(3);
  const index = cluster.propose(1, "x");
  cluster.stabilize();
  t.true(cluster.raft(1).log.committed < index, "no commit without the outgoing majority");
  t.deepEqual(
    status.peers?.map((p) => `${p.id} ${p.membership}`),
    ["1 voter", "2 voter", "3 outgoing", "4 voter"],
  );
  cluster.heal();
  cluster.tick(1);
  cluster.stabilize();
  t.is(cluster.raft(1).log.committed, cluster.raft(1).log.lastIndex());
  t.false(cluster.node(1).raw.status().joint);
});

test("a leave blocked by a leadership transfer is retried once the transfer ends", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  cluster.node(1).raw.transferLeadership(2);
  // 2 never catches up, so the transfer hangs; proposals, the leave included, wait.
  cluster.isolate(2);
  cluster.stabilize();
  let status = cluster.node(1).raw.status();
  t.true(status.joint);
  t.false(status.confChangePending, "the joint entry is applied, no leave proposed");
  t.is(status.leadTransferee, 2);
  t.throws(() => cluster.node(1).raw.proposeConfChange([]), { message: /transfer in progress/ });
  // The transfer is abandoned after an election timeout, and the leave goes out at once.
  cluster.heal();
  cluster.tick(1, 10);
  t.true(cluster.lines.includes("1 aborts leadership transfer to 2"));
  t.true(cluster.lines.some((line) => line.startsWith("1 proposes leaving the joint")));
  t.throws(() => cluster.node(1).raw.proposeConfChange([{ type: addLearner, nodeId: 9 }]), {
    message: /configuration change is pending/,
  });
  cluster.stabilize();
  status = cluster.node(1).raw.status();
  t.false(status.joint);
  t.deepEqual(status.conf.voters, [1, 2, 4]);
});

test("a new leader leaves a joint configuration its predecessor entered", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  // Everyone applies the joint entry; the leader then dies before its leave leaves it.
  holdLeave(cluster);
  t.true(cluster.node(2).raw.status().joint);
  cluster.stop(1);
  cluster.queue = [];
  // Incoming {1,2,4} and outgoing {1,2,3}: 2 needs 4 and 3 (1 is down).
  // The outgoing voter 3 may win too: it then leaves, and steps down.
  const from = cluster.lines.length;
  cluster.tickUntilLeader([2, 3, 4], 60);
  cluster.stabilize();
  t.true(cluster.lines.slice(from).some((line) => / proposes leaving the joint/.test(line)));
  for (const id of [2, 4])
    t.deepEqual(cluster.raft(id).conf, { voters: [1, 2, 4], learners: [], votersOutgoing: [] });
});

test("a leader elected with its own removal already in its log takes no proposal", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  // The leave (entry 6, which leaves 3 out) reaches only 3, and nobody
  // hears that it is committed; then the leader dies.
  for (let round = 0; round < 10; round++) {
    cluster.process();
    cluster.deliver({
      drop: (m) =>
        (m.type === MessageType.append &&
          (m.commit >= 6 || (m.to !== 3 && m.entries.some((e) => e.index >= 6)))) ||
        (m.type === MessageType.heartbeat && m.commit >= 6),
    });
  }
  t.is(cluster.raft(3).log.lastIndex(), 6);
  t.is(cluster.raft(3).log.applied, 5);
  cluster.stop(1);
  cluster.queue = [];
  // 3 has the longest log: it can win both majorities, and must then act
  // as a leader that is leaving. 2 and 4 first let their leader lease lapse.
  for (let i = 0; i < 40; i++) {
    cluster.tick(2);
    cluster.tick(4);
    cluster.stabilize();
  }
  cluster.node(3).raw.campaign();
  for (let round = 0; round < 20 && cluster.raft(3).role !== "leader"; round++) {
    cluster.process();
    cluster.deliver();
  }
  t.is(cluster.raft(3).role, "leader");
  t.throws(() => cluster.node(3).raw.propose(new Uint8Array([1])), {
    message: /leaving the group/,
  });
  cluster.stabilize();
  for (let i = 0; i < 3; i++) {
    cluster.tick(3);
    cluster.stabilize();
  }
  t.is(cluster.raft(3).role, "follower");
  const leader = cluster.tickUntilLeader([2, 4], 60);
  cluster.propose(leader, "after");
  cluster.stabilize();
  for (const id of [2, 4]) t.deepEqual(cluster.appliedTexts(id), ["a", "after"]);
});

test("an election while joint needs both majorities", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 3));
  holdLeave(cluster);
  cluster.stop(1);
  cluster.queue = [];
  // 2 and 4: a majority of the incoming {1,2,4}, not of the outgoing {1,2,3}.
  cluster.isolate(3);
  for (let round = 0; round < 60; round++) {
    cluster.tick(2);
    cluster.tick(4);
    cluster.stabilize();
  }
  t.not(cluster.raft(2).role, "leader");
  t.not(cluster.raft(4).role, "leader");
  cluster.heal();
  t.true(cluster.tickUntilLeader([2, 3, 4], 60) > 1);
});

test("a leader that removes itself leads through the joint phase, then steps down", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 1));
  cluster.stabilize();
  t.is(cluster.raft(1).role, "follower");
  t.true(cluster.lines.includes("1 proposes leaving the joint configuration at 6"));
  const stepDown = cluster.lines.indexOf(
    "1 steps down: removed from the configuration, and its voters know",
  );
  t.true(
    stepDown > cluster.lines.indexOf("1 applies conf change at 6: voters [2,3,4] learners []"),
  );
  const leader = cluster.tickUntilLeader([2, 3, 4], 60, [1]);
  t.deepEqual(cluster.raft(leader).conf.voters, [2, 3, 4]);
  cluster.propose(leader, "after");
  cluster.stabilize();
  for (const id of [2, 3, 4]) t.deepEqual(cluster.appliedTexts(id), ["a", "after"]);
});

test("a removed leader leads on until a quorum of its new voters knows the removal is committed", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 1));
  // Every notice of commit 6 (the leave) from 1 is lost for a while: the
  // others hold entry 6 but stay in the joint configuration, where they
  // would need 1's vote; 1 must not leave them there.
  const carriesLeaveCommit = (m: Message) =>
    m.from === 1 &&
    ((m.type === MessageType.append && m.commit >= 6) ||
      (m.type === MessageType.heartbeat && m.commit >= 6));
  for (let round = 0; round < 30; round++) {
    cluster.process();
    cluster.deliver({ drop: carriesLeaveCommit });
    if (round % 3 === 0) cluster.tick(1);
  }
  t.deepEqual(cluster.raft(1).conf.voters, [2, 3, 4], "1 applied its removal");
  t.is(cluster.raft(1).role, "leader", "and still leads, as nobody knows");
  t.deepEqual(cluster.raft(2).conf.votersOutgoing, [1, 2, 3]);
  cluster.stabilize();
  for (let i = 0; i < 3; i++) {
    cluster.tick(1);
    cluster.stabilize();
  }
  t.is(cluster.raft(1).role, "follower");
  for (const id of [2, 3, 4]) t.deepEqual(cluster.raft(id).conf.voters, [2, 3, 4]);
  const leader = cluster.tickUntilLeader([2, 3, 4], 60, [1]);
  cluster.propose(leader, "after");
  cluster.stabilize();
  for (const id of [2, 3, 4]) t.deepEqual(cluster.appliedTexts(id), ["a", "after"]);
});

test("a joiner behind a compacted log catches up by snapshot and gets the exact configuration", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  cluster.propose(1, "a");
  cluster.stabilize();
  cluster.node(1).raw.proposeConfChange([{ type: addLearner, nodeId: 4 }]);
  cluster.stabilize();
  cluster.node(1).raw.createSnapshot(cluster.raft(1).log.applied, new TextEncoder().encode("S"));
  cluster.node(1).raw.compact(cluster.raft(1).log.applied);
  cluster.addNode(4, { join: true });
  t.false(cluster.node(4).raw.raft.isVoter());
  for (let i = 0; i < 3; i++) {
    cluster.tick(1);
    cluster.stabilize();
  }
  const four = cluster.node(4);
  t.is(four.snapshot?.meta.index, 4);
  t.deepEqual(four.raw.raft.conf, { voters: [1, 2, 3], learners: [4], votersOutgoing: [] });
  t.true(cluster.lines.includes("1 sends snapshot 4/2 to 4"));
  // The joiner never campaigned, however long it waited before the leader found it.
  t.false(cluster.lines.some((line) => line.startsWith("4 became pre-candidate")));
});

test("a snapshot taken below the applied index carries the configuration of its own index", (t) => {
  const cluster = withLearner();
  const before = cluster.raft(1).log.applied;
  cluster.node(1).raw.proposeConfChange([{ type: addVoter, nodeId: 4 }]);
  cluster.stabilize();
  const snapshot = cluster.node(1).raw.createSnapshot(before, new Uint8Array());
  t.deepEqual(snapshot.meta.conf, { voters: [1, 2, 3], learners: [4], votersOutgoing: [] });
  const latest = cluster.node(1).raw.createSnapshot(cluster.raft(1).log.applied, new Uint8Array());
  t.deepEqual(latest.meta.conf.voters, [1, 2, 3, 4]);
});

test("a leader reports each peer's replication for a rebalancer", (t) => {
  const cluster = withLearner();
  t.is(cluster.node(2).raw.status().peers, undefined, "followers know no progress");
  cluster.tick(1);
  cluster.stabilize();
  cluster.tick(1);
  const status = cluster.node(1).raw.status();
  const last = status.lastIndex;
  t.like(status, { joint: false, confChangePending: false, leadTransferee: 0 });
  t.deepEqual(
    status.peers?.map((p) => [p.id, p.membership, p.state, p.match, p.ticksSinceHeard]),
    [
      [1, "voter", "replicate", last, 0],
      [2, "voter", "replicate", last, 1],
      [3, "voter", "replicate", last, 1],
      [4, "learner", "replicate", last, 1],
    ],
  );
});

test("a candidate that applies its own removal stops campaigning before votes make it leader", (t) => {
  const cluster = Cluster.of(3);
  cluster.elect(1);
  // The transfer's timeout-now reaches 3 together with the commit of its removal.
  cluster.node(1).raw.proposeConfChange([{ type: removeNode, nodeId: 3 }]);
  cluster.node(1).raw.transferLeadership(3);
  cluster.stabilize();
  t.true(cluster.lines.includes("3 received timeout-now from 1: campaigning at once"));
  t.true(cluster.lines.includes("3 stops campaigning: removed from the configuration"));
  t.false(cluster.lines.some((line) => line.startsWith("3 became leader")));
  const leader = cluster.tickUntilLeader([1, 2], 60, [3]);
  t.deepEqual(cluster.raft(leader).conf.voters, [1, 2]);
});

test("a leader takes no proposal after the entry that removes it, so its successor can win its vote", (t) => {
  const cluster = withLearner();
  cluster.node(1).raw.proposeConfChange(replace(4, 1));
  // Apply the joint entry on the leader only, so it proposes the leave.
  cluster.process([1]);
  cluster.deliver();
  cluster.process([2, 3, 4]);
  cluster.deliver();
  cluster.process([1]);
  t.true(cluster.lines.includes("1 proposes leaving the joint configuration at 6"));
  t.throws(() => cluster.propose(1, "late"), { message: /leaving the group: .* at 6/ });
  cluster.stabilize();
  t.is(cluster.raft(1).log.lastIndex(), 6, "the leave is the last entry of the removed leader");
});
