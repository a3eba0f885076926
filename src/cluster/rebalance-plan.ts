// What the rebalancer should start next: the replica changes that turn the
// groups' current replicas into the placement the committed configuration
// asks for (ring/placement.ts), one change per group at a time, within the
// configuration's limits on moves in flight and on snapshots per node.
// Pure: the driver (rebalancer.ts) does the I/O.

import { diffPlacements, type ReplicaChange } from "../ring/placement.js";
import type { RebalanceLimits } from "./config.js";
import type { GroupReplicas, Move } from "./metadata.js";

/** Every change still needed, group order; groups with a move in flight are left out. */
export function pendingChanges(
  current: ReadonlyMap<number, GroupReplicas>,
  target: ReadonlyMap<number, readonly string[]>,
  inFlight: readonly Move[],
): ReplicaChange[] {
  const busy = new Set(inFlight.map((move) => move.groupId));
  const voters = new Map<number, readonly string[]>();
  for (const groupId of target.keys()) voters.set(groupId, current.get(groupId)?.voters ?? []);
  return diffPlacements(voters, target).filter((change) => !busy.has(change.groupId));
}

/**
 * The changes to start now, as moves: at most limits.movesMax in flight in
 * all, and no node receiving more than limits.snapshotsPerNodeMax new
 * replicas (each arrives by snapshot) at once. Moves off draining nodes go
 * first, so a node being emptied empties soonest.
 */
export function movesToStart(
  pending: readonly ReplicaChange[],
  inFlight: readonly Move[],
  limits: RebalanceLimits,
  draining: ReadonlySet<string>,
  nowMs: number,
): Move[] {
  const receiving = new Map<string, number>();
  for (const move of inFlight) {
    if (move.to !== undefined) receiving.set(move.to, (receiving.get(move.to) ?? 0) + 1);
  }
  const leavesDraining = (change: ReplicaChange) =>
    change.kind !== "add" && draining.has(change.from);
  const ordered = [
    ...pending.filter(leavesDraining),
    ...pending.filter((change) => !leavesDraining(change)),
  ];
  const started: Move[] = [];
  const groups = new Set<number>();
  for (const change of ordered) {
    if (inFlight.length + started.length >= limits.movesMax) break;
    if (groups.has(change.groupId)) continue;
    if (change.kind !== "remove") {
      const load = receiving.get(change.to) ?? 0;
      if (load >= limits.snapshotsPerNodeMax) continue;
      receiving.set(change.to, load + 1);
    }
    groups.add(change.groupId);
    started.push(moveOf(change, nowMs));
  }
  return started;
}

function moveOf(change: ReplicaChange, nowMs: number): Move {
  switch (change.kind) {
    case "move":
      return {
        groupId: change.groupId,
        kind: "move",
        from: change.from,
        to: change.to,
        phase: "adding-learner",
        startedAtMs: nowMs,
      };
    case "add":
      return {
        groupId: change.groupId,
        kind: "add",
        to: change.to,
        phase: "adding-learner",
        startedAtMs: nowMs,
      };
    case "remove":
      return {
        groupId: change.groupId,
        kind: "remove",
        from: change.from,
        phase: "removing",
        startedAtMs: nowMs,
      };
  }
}
