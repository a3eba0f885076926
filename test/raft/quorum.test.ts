// Quorum arithmetic checked against a naive second version (as etcd-io/raft
// checks its quorum package), and the joint rules spelled out by example.

import test from "ava";
import fc from "fast-check";
import {
  majorityValue,
  majorityVote,
  quorumValue,
  quorumVote,
  type VoteResult,
} from "../../src/raft/quorum.js";
import type { ConfState } from "../../src/raft/types.js";
import { runs } from "../helpers/property.js";

/** The largest candidate value that more than half of the voters reached. */
function naiveMajorityValue(values: number[]): number {
  if (values.length === 0) return Number.POSITIVE_INFINITY;
  let best = Number.NEGATIVE_INFINITY;
  for (const candidate of values) {
    const reached = values.filter((value) => value >= candidate).length;
    if (reached * 2 > values.length) best = Math.max(best, candidate);
  }
  return best;
}

function naiveMajorityVote(votes: (boolean | undefined)[]): VoteResult {
  if (votes.length === 0) return "won";
  const yes = votes.filter((vote) => vote === true).length;
  const no = votes.filter((vote) => vote === false).length;
  if (yes * 2 > votes.length) return "won";
  if (no * 2 >= votes.length) return "lost";
  return "pending";
}

const voterValues = fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 9 });

test("a majority's value matches the naive count", (t) => {
  fc.assert(
    fc.property(voterValues, (values) => {
      const voters = values.map((_, i) => i + 1);
      t.is(
        majorityValue(voters, (id) => values[id - 1]!),
        naiveMajorityValue(values),
      );
    }),
    { numRuns: runs(500) },
  );
});

test("a majority vote matches the naive count", (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(true, false, undefined), { maxLength: 9 }), (votes) => {
      const voters = votes.map((_, i) => i + 1);
      t.is(
        majorityVote(voters, (id) => votes[id - 1]),
        naiveMajorityVote(votes),
      );
    }),
    { numRuns: runs(500) },
  );
});

test("a joint value is the lower of the two halves' values, an empty half never limits", (t) => {
  fc.assert(
    fc.property(voterValues, voterValues, (incoming, outgoing) => {
      // Ids 1..n for incoming, 101.. for outgoing: disjoint halves.
      const conf: ConfState = {
        voters: incoming.map((_, i) => i + 1),
        learners: [],
        votersOutgoing: outgoing.map((_, i) => i + 101),
      };
      const markOf = (id: number) => (id > 100 ? outgoing[id - 101]! : incoming[id - 1]!);
      t.is(
        quorumValue(conf, markOf),
        Math.min(naiveMajorityValue(incoming), naiveMajorityValue(outgoing)),
      );
    }),
    { numRuns: runs(300) },
  );
});

const joint: ConfState = { voters: [2, 3, 4], learners: [], votersOutgoing: [1, 2, 3] };

test("in a joint configuration, a majority of the new voters alone does not commit", (t) => {
  const match = new Map([
    [1, 1],
    [2, 1],
    [3, 5],
    [4, 5],
  ]);
  // Incoming {2,3,4}: 3 and 4 reached 5. Outgoing {1,2,3}: only 3 did.
  t.is(
    quorumValue(joint, (id) => match.get(id)!),
    1,
  );
  match.set(2, 5);
  t.is(
    quorumValue(joint, (id) => match.get(id)!),
    5,
  );
});

test("in a joint configuration, a vote is won only with both majorities and lost with either lost", (t) => {
  const votes = (entries: [number, boolean][]) => {
    const map = new Map(entries);
    return quorumVote(joint, (id) => map.get(id));
  };
  t.is(
    votes([
      [3, true],
      [4, true],
    ]),
    "pending",
    "incoming won, outgoing undecided",
  );
  t.is(
    votes([
      [2, true],
      [3, true],
    ]),
    "won",
  );
  t.is(
    votes([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
    ]),
    "lost",
    "the outgoing majority said no",
  );
});
