// Membership change planning as a table (simple vs joint, leaving, refusals),
// the pure configuration function owners persist, and the entry format:
// round trip, and refusal of every kind of damage.

import test from "ava";
import fc from "fast-check";
import {
  type ConfChange,
  ConfChangeCorruption,
  ConfChangeType,
  confChangeFormatVersion,
  confChangesMax,
  confStateAfter,
  decodeConfChange,
  encodeConfChange,
  planConfChange,
} from "../../src/raft/conf-change.js";
import { type ConfState, EntryType, emptyConfState } from "../../src/raft/types.js";
import { runs } from "../helpers/property.js";

const { addVoter, addLearner, removeNode } = ConfChangeType;

function conf(voters: number[], learners: number[] = [], votersOutgoing: number[] = []): ConfState {
  return { voters, learners, votersOutgoing };
}

const plans = test.macro({
  exec(t, before: ConfState, changes: ConfChange[], expected: ConfState | string) {
    const plan = planConfChange(before, changes);
    if (typeof expected === "string") {
      t.is(plan.kind, "refuse");
      if (plan.kind === "refuse") t.regex(plan.reason, new RegExp(expected));
    } else {
      t.deepEqual(plan, { kind: "apply", conf: expected });
    }
  },
  title: (title) => `conf change: ${title}`,
});

test(
  "adding one voter applies directly",
  plans,
  conf([1, 2, 3]),
  [{ type: addVoter, nodeId: 4 }],
  conf([1, 2, 3, 4]),
);
test(
  "promoting a learner alone applies directly",
  plans,
  conf([1, 2, 3], [4]),
  [{ type: addVoter, nodeId: 4 }],
  conf([1, 2, 3, 4]),
);
test(
  "removing one voter applies directly",
  plans,
  conf([1, 2, 3]),
  [{ type: removeNode, nodeId: 2 }],
  conf([1, 3]),
);
test(
  "learners come and go without touching voters",
  plans,
  conf([1, 2, 3], [4]),
  [
    { type: addLearner, nodeId: 5 },
    { type: removeNode, nodeId: 4 },
  ],
  conf([1, 2, 3], [5]),
);
test(
  "promote learner X and remove voter Y enters a joint configuration",
  plans,
  conf([1, 2, 3], [4]),
  [
    { type: addVoter, nodeId: 4 },
    { type: removeNode, nodeId: 1 },
  ],
  conf([2, 3, 4], [], [1, 2, 3]),
);
test(
  "adding two voters at once enters a joint configuration",
  plans,
  conf([1]),
  [
    { type: addVoter, nodeId: 2 },
    { type: addVoter, nodeId: 3 },
  ],
  conf([1, 2, 3], [], [1]),
);
test(
  "from an empty configuration (a joiner replaying entry 1) the list applies directly",
  plans,
  emptyConfState,
  [
    { type: addVoter, nodeId: 1 },
    { type: addVoter, nodeId: 2 },
    { type: addLearner, nodeId: 3 },
  ],
  conf([1, 2], [3]),
);
test(
  "adding members that already hold the role changes nothing",
  plans,
  conf([1, 2], [3]),
  [
    { type: addVoter, nodeId: 1 },
    { type: addLearner, nodeId: 3 },
  ],
  conf([1, 2], [3]),
);
test(
  "no changes leave a joint configuration",
  plans,
  conf([2, 3, 4], [], [1, 2, 3]),
  [],
  conf([2, 3, 4]),
);
test("leaving is refused when not joint", plans, conf([1, 2, 3]), [], "nothing to leave");
test(
  "while joint, any other change is refused",
  plans,
  conf([2, 3, 4], [], [1, 2, 3]),
  [{ type: addLearner, nodeId: 5 }],
  "only change allowed is leaving",
);
test(
  "demoting a voter is refused",
  plans,
  conf([1, 2, 3]),
  [{ type: addLearner, nodeId: 2 }],
  "demotion is not supported",
);
test(
  "removing then re-adding a voter as a learner is a demotion too",
  plans,
  conf([1, 2, 3]),
  [
    { type: removeNode, nodeId: 2 },
    { type: addLearner, nodeId: 2 },
  ],
  "demotion is not supported",
);
test(
  "removing a stranger is refused",
  plans,
  conf([1, 2, 3]),
  [{ type: removeNode, nodeId: 9 }],
  "not a member",
);
test(
  "removing the last voter is refused",
  plans,
  conf([1]),
  [{ type: removeNode, nodeId: 1 }],
  "leaves no voter",
);
test(
  "node id 0 is refused",
  plans,
  conf([1]),
  [{ type: addVoter, nodeId: 0 }],
  "not a positive u32",
);

test("confStateAfter leaves the configuration alone for normal entries and refused changes", (t) => {
  const before = conf([1, 2, 3]);
  t.is(
    confStateAfter(before, { index: 5, term: 1, type: EntryType.normal, data: new Uint8Array(3) }),
    before,
  );
  const refused = encodeConfChange([{ type: removeNode, nodeId: 9 }]);
  t.is(
    confStateAfter(before, { index: 5, term: 1, type: EntryType.confChange, data: refused }),
    before,
  );
  const replace = encodeConfChange([
    { type: addVoter, nodeId: 4 },
    { type: removeNode, nodeId: 3 },
  ]);
  const joint = confStateAfter(before, {
    index: 6,
    term: 1,
    type: EntryType.confChange,
    data: replace,
  });
  t.deepEqual(joint, conf([1, 2, 4], [], [1, 2, 3]));
  const leave = encodeConfChange([]);
  t.deepEqual(
    confStateAfter(joint, { index: 7, term: 1, type: EntryType.confChange, data: leave }),
    conf([1, 2, 4]),
  );
});

const change: fc.Arbitrary<ConfChange> = fc.record({
  type: fc.constantFrom(addVoter, addLearner, removeNode),
  nodeId: fc.integer({ min: 1, max: 0xffff_ffff }),
});

test("any list of changes decodes to what was encoded", (t) => {
  fc.assert(
    fc.property(fc.array(change, { maxLength: confChangesMax }), (changes) => {
      t.deepEqual(decodeConfChange(encodeConfChange(changes)), changes);
    }),
    { numRuns: runs(200) },
  );
});

test("truncated or extended entry data is refused as corruption", (t) => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 1, maxLength: 8 }), fc.nat(), (changes, cut) => {
      const bytes = encodeConfChange(changes);
      const short = bytes.subarray(0, cut % bytes.length);
      t.throws(() => decodeConfChange(short), { instanceOf: ConfChangeCorruption });
      const long = new Uint8Array(bytes.length + 1 + (cut % 7));
      long.set(bytes);
      t.throws(() => decodeConfChange(long), { instanceOf: ConfChangeCorruption });
    }),
    { numRuns: runs(100) },
  );
});

const corrupt = test.macro({
  exec(t, damage: (bytes: Uint8Array) => void, reason: RegExp) {
    const bytes = encodeConfChange([
      { type: addVoter, nodeId: 4 },
      { type: removeNode, nodeId: 1 },
    ]);
    damage(bytes);
    const error = t.throws(() => decodeConfChange(bytes), { instanceOf: ConfChangeCorruption });
    t.is(error?.code, "ERR_CORRUPTION");
    t.regex(error?.message ?? "", reason);
  },
  title: (title) => `a conf change entry with ${title} is refused`,
});

test(
  "another format version",
  corrupt,
  (b) => (b[0] = confChangeFormatVersion + 1),
  /format version 3, expected 2/,
);
test("the retired single-change layout", corrupt, (b) => (b[0] = 1), /format version 1/);
test(
  "a count that disagrees with the length",
  corrupt,
  (b) => (b[1] = 3),
  /for 3 changes, expected 18/,
);
test("a count beyond the limit", corrupt, (b) => (b[2] = 1), /changes, at most 64/);
test("an unknown change type", corrupt, (b) => (b[8] = 9), /offset 8: unknown change type 9/);
test("node id 0", corrupt, (b) => b.fill(0, 4, 8), /offset 4: node id 0/);
