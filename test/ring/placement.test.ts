import test from "ava";
import fc from "fast-check";
import {
  diffPlacements,
  groupIdsUpTo,
  type Placement,
  type PlacementNode,
  placeGroups,
  placementDefect,
  placeReplicas,
  replicaCounts,
} from "../../src/ring/placement.js";
import { rendezvousScore } from "../../src/ring/rendezvous-score.js";
import { MemraftError } from "../../src/util/errors.js";
import { runs } from "../helpers/property.js";
import { nodesArbitrary, nodesNamed } from "./fixtures.js";

// Pinned forever: placements decide where replicas live, so a refactor that
// changes them would move data on upgrade.
test("placements are pinned for a few clusters", (t) => {
  t.deepEqual(placeReplicas(0, nodesNamed(3), 3), ["n1", "n3", "n2"]);
  t.deepEqual(placeReplicas(7, nodesNamed(5), 3), ["n5", "n1", "n3"]);
  t.deepEqual(
    [...placeGroups(groupIdsUpTo(8), nodesNamed(6), 3)],
    [
      [0, ["n1", "n5", "n6"]],
      [1, ["n3", "n6", "n4"]],
      [2, ["n2", "n4", "n1"]],
      [3, ["n5", "n3", "n2"]],
      [4, ["n4", "n6", "n2"]],
      [5, ["n5", "n1", "n2"]],
      [6, ["n4", "n3", "n5"]],
      [7, ["n5", "n6", "n1"]],
    ],
  );
  t.deepEqual(
    [...placeGroups(groupIdsUpTo(4), nodesNamed(5, [1, 2, 1, 4, 1]), 2)],
    [
      [0, ["n1", "n5"]],
      [1, ["n3", "n4"]],
      [2, ["n4", "n2"]],
      [3, ["n5", "n3"]],
    ],
  );
  const named = ["node-a", "node-b", "node-c"].map((id) => ({ id, weight: 1, draining: false }));
  t.deepEqual(placeReplicas(65535, [...named, { id: "zone2_x", weight: 3, draining: false }], 3), [
    "zone2_x",
    "node-a",
    "node-c",
  ]);
});

test("replicas are the top nodes by score, best first, never a draining node", (t) => {
  fc.assert(
    fc.property(nodesArbitrary, fc.nat({ max: 0xffff }), fc.nat(), (nodes, groupId, pick) => {
      const serving = nodes.filter((node) => !node.draining);
      fc.pre(serving.length >= 1);
      const replicationFactor = 1 + (pick % serving.length);
      const replicas = placeReplicas(groupId, nodes, replicationFactor);
      const ranked = serving
        .map((node) => ({ id: node.id, score: rendezvousScore(groupId, node.id, node.weight) }))
        .sort((a, b) => b.score - a.score);
      t.deepEqual(
        replicas,
        ranked.slice(0, replicationFactor).map((node) => node.id),
      );
    }),
    { numRuns: runs(300) },
  );
});

test("the order in which nodes are listed does not matter", (t) => {
  fc.assert(
    fc.property(nodesArbitrary, fc.nat({ max: 0xffff }), fc.nat(), (nodes, groupId, rotation) => {
      const serving = nodes.filter((node) => !node.draining).length;
      fc.pre(serving >= 1);
      const shuffled = [
        ...nodes.slice(rotation % nodes.length),
        ...nodes.slice(0, rotation % nodes.length),
      ].reverse();
      t.deepEqual(
        placeReplicas(groupId, shuffled, serving),
        placeReplicas(groupId, nodes, serving),
      );
    }),
    { numRuns: runs(300) },
  );
});

test("a new node only ever takes replicas; no other replica moves", (t) => {
  fc.assert(
    fc.property(
      nodesArbitrary,
      fc.integer({ min: 1, max: 8 }),
      fc.nat({ max: 3 }),
      (nodes, weight, extra) => {
        const serving = nodes.filter((node) => !node.draining).length;
        fc.pre(serving >= 1);
        const replicationFactor = Math.max(1, serving - extra);
        const newcomer: PlacementNode = { id: "new-node", weight, draining: false };
        fc.pre(!nodes.some((node) => node.id === newcomer.id));
        const groups = groupIdsUpTo(32);
        const before = placeGroups(groups, nodes, replicationFactor);
        const after = placeGroups(groups, [...nodes, newcomer], replicationFactor);
        for (const change of diffPlacements(before, after)) {
          t.is(change.kind, "move");
          if (change.kind === "move") t.is(change.to, newcomer.id);
        }
      },
    ),
    { numRuns: runs(100) },
  );
});

test("draining a node moves exactly its replicas and nothing else", (t) => {
  fc.assert(
    fc.property(nodesArbitrary, fc.nat(), (nodes, pick) => {
      const serving = nodes.filter((node) => !node.draining);
      fc.pre(serving.length >= 2);
      const leaving = serving[pick % serving.length]!;
      const replicationFactor = serving.length - 1;
      const groups = groupIdsUpTo(32);
      const before = placeGroups(groups, nodes, replicationFactor);
      const drained = nodes.map((node) => (node === leaving ? { ...node, draining: true } : node));
      const after = placeGroups(groups, drained, replicationFactor);
      const changes = diffPlacements(before, after);
      t.is(changes.length, replicaCounts(before).get(leaving.id) ?? 0);
      for (const change of changes) {
        t.is(change.kind, "move");
        if (change.kind === "move") t.is(change.from, leaving.id);
      }
      const removed = nodes.filter((node) => node !== leaving);
      t.deepEqual(placeGroups(groups, removed, replicationFactor), after, "deleting = draining");
    }),
    { numRuns: runs(100) },
  );
});

test("raising a node's weight only moves replicas to it; lowering only moves them off", (t) => {
  const groups = groupIdsUpTo(64);
  const nodes = nodesNamed(6);
  const heavier = nodes.map((node) => (node.id === "n2" ? { ...node, weight: 3 } : node));
  const up = diffPlacements(placeGroups(groups, nodes, 3), placeGroups(groups, heavier, 3));
  t.true(up.length > 0);
  t.true(up.every((change) => change.kind === "move" && change.to === "n2"));
  const down = diffPlacements(placeGroups(groups, heavier, 3), placeGroups(groups, nodes, 3));
  t.true(down.every((change) => change.kind === "move" && change.from === "n2"));
  t.is(down.length, up.length);
});

const defect = test.macro({
  exec(
    t,
    _what: string,
    nodes: readonly PlacementNode[],
    replicationFactor: number,
    reason: RegExp,
  ) {
    t.regex(placementDefect(nodes, replicationFactor) ?? "(fine)", reason);
    const error = t.throws(() => placeReplicas(0, nodes, replicationFactor));
    t.true(MemraftError.is(error, "ERR_CONFIG"));
    t.regex(error?.message ?? "", /cannot place replicas/);
    t.regex(error?.message ?? "", reason);
    t.throws(() => placeGroups([0, 1], nodes, replicationFactor), { message: reason });
  },
  title: (_provided, what: string) => `placement refuses ${what}, saying why`,
});

const node = (id: string, weight = 1, draining = false): PlacementNode => ({
  id,
  weight,
  draining,
});

test(defect, "a replication factor of 0", nodesNamed(3), 0, /must be a positive integer, got 0/);
test(defect, "a fractional replication factor", nodesNamed(3), 1.5, /got 1.5/);
test(defect, "a node id used twice", [node("n1"), node("n2"), node("n1")], 1, /"n1" appears twice/);
test(defect, "an empty node id", [node("")], 1, /node id "" must have 1 to 64 bytes/);
test(defect, "a node id over 64 bytes", [node("x".repeat(65))], 1, /must have 1 to 64 bytes/);
test(defect, "a zero weight", [node("n1", 0)], 1, /node n1 has weight 0; weights must be positive/);
test(defect, "a negative weight", [node("n1", -2)], 1, /weight -2/);
test(defect, "a weight that is not a number", [node("n1", Number.NaN)], 1, /weight NaN/);
test(defect, "an infinite weight", [node("n1", Number.POSITIVE_INFINITY)], 1, /weight Infinity/);
test(
  defect,
  "more replicas than nodes that are not draining",
  [node("n1"), node("n2", 1, true), node("n3")],
  3,
  /replication factor 3 needs as many nodes that are not draining; there are 2 \(n1, n3\)/,
);
test(defect, "an empty cluster", [], 1, /there are 0 \(none\)/);

const placementOf = (entries: Array<[number, string[]]>): Placement => new Map(entries);

const diff = test.macro({
  exec(t, _what: string, current: Placement, target: Placement, expected: unknown) {
    t.deepEqual(diffPlacements(current, target), expected);
  },
  title: (_provided, what: string) => `the placement diff ${what}`,
});

test(
  diff,
  "of equal placements is empty",
  placementOf([[0, ["a", "b"]]]),
  placementOf([[0, ["a", "b"]]]),
  [],
);
test(
  diff,
  "ignores a new preferred leader",
  placementOf([[0, ["a", "b", "c"]]]),
  placementOf([[0, ["c", "a", "b"]]]),
  [],
);
test(
  diff,
  "pairs leaving and arriving nodes as moves, in list order, by group",
  placementOf([
    [3, ["a", "b", "c"]],
    [1, ["a", "b", "c"]],
  ]),
  placementOf([
    [1, ["d", "a", "c"]],
    [3, ["e", "a", "d"]],
  ]),
  [
    { kind: "move", groupId: 1, from: "b", to: "d" },
    { kind: "move", groupId: 3, from: "b", to: "e" },
    { kind: "move", groupId: 3, from: "c", to: "d" },
  ],
);
test(
  diff,
  "adds replicas when the replication factor grows",
  placementOf([[0, ["a"]]]),
  placementOf([[0, ["a", "b", "c"]]]),
  [
    { kind: "add", groupId: 0, to: "b" },
    { kind: "add", groupId: 0, to: "c" },
  ],
);
test(
  diff,
  "removes replicas of a group the target no longer has",
  placementOf([
    [0, ["a", "b"]],
    [1, ["b", "c"]],
  ]),
  placementOf([[0, ["a", "b"]]]),
  [
    { kind: "remove", groupId: 1, from: "b" },
    { kind: "remove", groupId: 1, from: "c" },
  ],
);

test("replica counts list every given node, including those with none", (t) => {
  const counts = replicaCounts(
    placementOf([
      [0, ["n1", "n2"]],
      [1, ["n2", "n3"]],
    ]),
    nodesNamed(4),
  );
  t.deepEqual(
    [...counts],
    [
      ["n1", 1],
      ["n2", 2],
      ["n3", 1],
      ["n4", 0],
    ],
  );
});
