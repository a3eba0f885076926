import test from "ava";
import type { GroupReplicas, Move } from "../../src/cluster/metadata.js";
import { movesToStart, pendingChanges } from "../../src/cluster/rebalance-plan.js";

const limits = { movesMax: 3, snapshotsPerNodeMax: 1 };

function replicas(entries: [number, string[]][]): Map<number, GroupReplicas> {
  return new Map(entries.map(([groupId, voters]) => [groupId, { voters, learners: [] }]));
}

test("pending changes skip groups with a move in flight", (t) => {
  const current = replicas([
    [0, ["a", "b", "c"]],
    [1, ["a", "b", "c"]],
  ]);
  const target = new Map([
    [0, ["a", "b", "d"]],
    [1, ["a", "d", "c"]],
  ]);
  const inFlight: Move[] = [
    { groupId: 0, kind: "move", from: "c", to: "d", phase: "catching-up", startedAtMs: 0 },
  ];
  t.deepEqual(pendingChanges(current, target, inFlight), [
    { kind: "move", groupId: 1, from: "b", to: "d" },
  ]);
});

test("no more moves than the limit, one per group, and each node receives one snapshot at a time", (t) => {
  const pending = [
    { kind: "move" as const, groupId: 0, from: "a", to: "d" },
    { kind: "move" as const, groupId: 0, from: "b", to: "e" },
    { kind: "move" as const, groupId: 1, from: "a", to: "d" },
    { kind: "move" as const, groupId: 2, from: "b", to: "e" },
    { kind: "remove" as const, groupId: 3, from: "c" },
    { kind: "move" as const, groupId: 4, from: "c", to: "f" },
  ];
  const started = movesToStart(pending, [], limits, new Set(), 7);
  t.deepEqual(
    started.map((move) => [move.groupId, move.from, move.to, move.phase, move.startedAtMs]),
    [
      [0, "a", "d", "adding-learner", 7],
      [2, "b", "e", "adding-learner", 7],
      [3, "c", undefined, "removing", 7],
    ],
  );
});

test("moves already in flight count toward both limits", (t) => {
  const inFlight: Move[] = [
    { groupId: 9, kind: "add", to: "d", phase: "catching-up", startedAtMs: 0 },
    { groupId: 8, kind: "move", from: "a", to: "e", phase: "swapping", startedAtMs: 0 },
  ];
  const pending = [
    { kind: "move" as const, groupId: 0, from: "a", to: "d" },
    { kind: "move" as const, groupId: 1, from: "a", to: "f" },
    { kind: "move" as const, groupId: 2, from: "a", to: "g" },
  ];
  t.deepEqual(
    movesToStart(pending, inFlight, limits, new Set(), 0).map((move) => move.groupId),
    [1],
  );
});

test("moves off draining nodes go first", (t) => {
  const pending = [
    { kind: "move" as const, groupId: 0, from: "a", to: "d" },
    { kind: "move" as const, groupId: 1, from: "x", to: "e" },
  ];
  const started = movesToStart(
    pending,
    [],
    { movesMax: 1, snapshotsPerNodeMax: 1 },
    new Set(["x"]),
    0,
  );
  t.deepEqual(
    started.map((move) => move.groupId),
    [1],
  );
});
