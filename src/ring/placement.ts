// group -> nodes: the third of the ring's three mappings. A group's replicas
// belong on the replicationFactor nodes with the highest rendezvous scores
// for it (rendezvous-score.ts), best first; the first is the preferred
// leader. Draining nodes are never chosen.
//
// Why rendezvous: a node's score for a group does not depend on which other
// nodes exist. So adding a node changes only the groups where it now ranks
// in the top RF (about RF * G / (n + 1) of them when weights are equal), and
// in each of those it displaces exactly one old replica, whichever was
// ranked last; removing or draining a node changes only the groups it was
// in, each taking the next-ranked node. No order of nodes matters.
//
// Weights: the first replica of a group lands on a node with probability
// proportional to its weight. A node holds at most one replica of a group,
// so with RF > 1 the share of all replicas lies between proportional and
// equal (test/ring/placement.test.ts measures it), and a weight above
// sum(weights) / RF cannot be honoured at all.
//
// Pure: no I/O. The rebalancer turns diffPlacements' result into membership
// changes, one at a time.

import { ConfigError } from "../util/errors.js";
import { nodeIdBytesMax } from "./limits.js";
import { rendezvousScore } from "./rendezvous-score.js";

/** What placement needs of a node; the cluster file's NodeConfig fits. */
export interface PlacementNode {
  readonly id: string;
  /** Relative share of replicas: positive and finite. */
  readonly weight: number;
  /** A draining node is being emptied: it receives no replicas. */
  readonly draining: boolean;
}

/** Each group's replica node ids, best first. */
export type Placement = ReadonlyMap<number, readonly string[]>;

/** One step for the rebalancer; `kind` says whether a replica appears, leaves or both. */
export type ReplicaChange =
  | { readonly kind: "move"; readonly groupId: number; readonly from: string; readonly to: string }
  | { readonly kind: "add"; readonly groupId: number; readonly to: string }
  | { readonly kind: "remove"; readonly groupId: number; readonly from: string };

/** Why these nodes cannot hold replicationFactor replicas per group, or undefined. */
export function placementDefect(
  nodes: readonly PlacementNode[],
  replicationFactor: number,
): string | undefined {
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1) {
    return `replication factor must be a positive integer, got ${replicationFactor}`;
  }
  const seen = new Set<string>();
  for (const node of nodes) {
    const idBytes = Buffer.byteLength(node.id, "utf8");
    if (idBytes < 1 || idBytes > nodeIdBytesMax) {
      return `node id ${JSON.stringify(node.id)} must have 1 to ${nodeIdBytesMax} bytes`;
    }
    if (seen.has(node.id)) return `node id ${JSON.stringify(node.id)} appears twice`;
    seen.add(node.id);
    if (!(node.weight > 0) || !Number.isFinite(node.weight)) {
      return `node ${node.id} has weight ${node.weight}; weights must be positive and finite`;
    }
  }
  const serving = nodes.filter((node) => !node.draining);
  if (serving.length < replicationFactor) {
    const ids = serving.map((node) => node.id).join(", ");
    return `replication factor ${replicationFactor} needs as many nodes that are not draining; there are ${serving.length} (${ids || "none"})`;
  }
  return undefined;
}

function checkPlacementInput(nodes: readonly PlacementNode[], replicationFactor: number): void {
  const defect = placementDefect(nodes, replicationFactor);
  if (defect !== undefined)
    throw new ConfigError(`cannot place replicas: ${defect}`, { replicationFactor });
}

/**
 * The replicationFactor nodes that should hold group `groupId`, best first.
 * Throws ConfigError when placementDefect finds a problem.
 */
export function placeReplicas(
  groupId: number,
  nodes: readonly PlacementNode[],
  replicationFactor: number,
): string[] {
  checkPlacementInput(nodes, replicationFactor);
  return topNodes(groupId, nodes, replicationFactor);
}

/** placeReplicas for every group in `groupIds`, checking the nodes once. */
export function placeGroups(
  groupIds: Iterable<number>,
  nodes: readonly PlacementNode[],
  replicationFactor: number,
): Map<number, readonly string[]> {
  checkPlacementInput(nodes, replicationFactor);
  const placement = new Map<number, readonly string[]>();
  for (const groupId of groupIds)
    placement.set(groupId, topNodes(groupId, nodes, replicationFactor));
  return placement;
}

/** Group ids 0..groupCount-1, as in an even slot map. */
export function groupIdsUpTo(groupCount: number): number[] {
  return Array.from({ length: groupCount }, (_, groupId) => groupId);
}

function topNodes(groupId: number, nodes: readonly PlacementNode[], count: number): string[] {
  const scored = nodes
    .filter((node) => !node.draining)
    .map((node) => ({ id: node.id, score: rendezvousScore(groupId, node.id, node.weight) }));
  // Ties (astronomically rare) go to the smaller id, so the order of
  // `nodes` never matters.
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.slice(0, count).map((node) => node.id);
}

/**
 * What turns `current` into `target`, in group order. In each group, nodes
 * leaving are paired with nodes arriving, in the order each list gives them,
 * as moves; what is left over is an add or a remove (a changed replication
 * factor, or a group only one side has). Changes of order alone (a new
 * preferred leader) are not changes of replicas and are not listed.
 */
export function diffPlacements(current: Placement, target: Placement): ReplicaChange[] {
  const groupIds = [...new Set([...current.keys(), ...target.keys()])].sort((a, b) => a - b);
  const changes: ReplicaChange[] = [];
  for (const groupId of groupIds) {
    const before = current.get(groupId) ?? [];
    const after = target.get(groupId) ?? [];
    const leaving = before.filter((id) => !after.includes(id));
    const arriving = after.filter((id) => !before.includes(id));
    const paired = Math.min(leaving.length, arriving.length);
    for (let i = 0; i < paired; i++) {
      changes.push({ kind: "move", groupId, from: leaving[i]!, to: arriving[i]! });
    }
    for (const to of arriving.slice(paired)) changes.push({ kind: "add", groupId, to });
    for (const from of leaving.slice(paired)) changes.push({ kind: "remove", groupId, from });
  }
  return changes;
}

/** Replicas per node id; nodes listed in `nodes` appear even with none. */
export function replicaCounts(
  placement: Placement,
  nodes: readonly PlacementNode[] = [],
): Map<string, number> {
  const counts = new Map<string, number>(nodes.map((node) => [node.id, 0]));
  for (const replicas of placement.values()) {
    for (const id of replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
