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
// The cluster places groups with evenOutPlacement: rendezvous first, then
// loads evened out from the current placement, so that every node holds its
// share and a change moves only what it must (see there).
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

/**
 * The cluster's placement, from where replicas are now: each group keeps
 * its replicas on nodes that stay (not draining, still listed), tops up to
 * replicationFactor with its best-scoring other nodes (rendezvous, so a new
 * group, or a cluster's founding placement from nothing, starts at the top
 * replicationFactor nodes by score), and drops its lowest-scoring ones
 * beyond it. Then, while some node holds more than one replica above its
 * share (its weighted part of all replicas) compared with another, one
 * replica moves from the most loaded to the least loaded node, in the group
 * where the swap costs the least rendezvous score. Deterministic: a pure
 * function of the current placement, the nodes and the group ids.
 *
 * Why not rendezvous alone: with tens of groups it leaves loads to chance,
 * and lumpy (adding a 9th node to 8 with 16 groups may move 1 replica where
 * its share is 5). Why from the current placement: then a change moves only
 * what it must — a new node takes its share, one replica at a time from the
 * most loaded nodes; a drained node's replicas go to the least loaded — and
 * no more (test/ring/placement-balanced.test.ts measures both). A node whose
 * share exceeds one replica of every group (a weight above sum /
 * replicationFactor) simply holds one replica of every group.
 */
export function evenOutPlacement(
  current: Placement,
  groupIds: Iterable<number>,
  nodes: readonly PlacementNode[],
  replicationFactor: number,
): Map<number, readonly string[]> {
  checkPlacementInput(nodes, replicationFactor);
  const ids = [...new Set(groupIds)].sort((a, b) => a - b);
  const serving = nodes
    .filter((node) => !node.draining)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const servingIds = new Set(serving.map((node) => node.id));
  const totalWeight = serving.reduce((sum, node) => sum + node.weight, 0);
  const share = new Map(
    serving.map((node) => [node.id, (replicationFactor * ids.length * node.weight) / totalWeight]),
  );
  const scores = new Map<number, Map<string, number>>();
  const placement = new Map<number, string[]>();
  const loads = new Map(serving.map((node) => [node.id, 0]));
  const byScore = (groupId: number) => {
    const byNode = scores.get(groupId)!;
    return (a: string, b: string) => byNode.get(b)! - byNode.get(a)! || (a < b ? -1 : 1);
  };
  for (const groupId of ids) {
    scores.set(
      groupId,
      new Map(serving.map((node) => [node.id, rendezvousScore(groupId, node.id, node.weight)])),
    );
    const previous = current.get(groupId) ?? [];
    const kept = previous.filter((id) => servingIds.has(id)).sort(byScore(groupId));
    // A group new to the placement starts at its top nodes by score.
    const replicas = (previous.length > 0 ? kept : [...servingIds].sort(byScore(groupId))).slice(
      0,
      replicationFactor,
    );
    placement.set(groupId, replicas);
    for (const id of replicas) loads.set(id, loads.get(id)! + 1);
  }
  const surplus = (id: string) => loads.get(id)! - share.get(id)!;
  // Groups that lost replicas (drained nodes, a larger replication factor)
  // take the least loaded nodes, so little is left to even out afterwards.
  for (const groupId of ids) {
    const replicas = placement.get(groupId)!;
    while (replicas.length < replicationFactor) {
      const order = byScore(groupId);
      const [next] = [...servingIds]
        .filter((id) => !replicas.includes(id))
        .sort((a, b) => surplus(a) - surplus(b) || order(a, b));
      replicas.push(next!);
      loads.set(next!, loads.get(next!)! + 1);
    }
  }
  for (;;) {
    const ranked = [...loads.keys()].sort((a, b) => surplus(b) - surplus(a) || (a < b ? -1 : 1));
    const move = bestSwap(ranked, surplus, placement, scores);
    if (move === undefined) break;
    const replicas = placement.get(move.groupId)!;
    replicas[replicas.indexOf(move.from)] = move.to;
    loads.set(move.from, loads.get(move.from)! - 1);
    loads.set(move.to, loads.get(move.to)! + 1);
  }
  const result = new Map<number, readonly string[]>();
  for (const [groupId, replicas] of placement) {
    // Best first, as placeReplicas gives them: the first is the preferred leader.
    result.set(groupId, [...replicas].sort(byScore(groupId)));
  }
  return result;
}

/**
 * The swap that evens loads out next: from the most loaded node that can
 * give to the least loaded node that can take, where their surpluses differ
 * by more than one (so the swap narrows the gap), in the group where it
 * costs the least score. Undefined when no swap narrows any gap.
 */
function bestSwap(
  ranked: readonly string[],
  surplus: (id: string) => number,
  placement: ReadonlyMap<number, readonly string[]>,
  scores: ReadonlyMap<number, ReadonlyMap<string, number>>,
): { groupId: number; from: string; to: string } | undefined {
  for (const from of ranked) {
    for (const to of [...ranked].reverse()) {
      if (surplus(from) - surplus(to) <= 1 + 1e-9) break;
      let best: { groupId: number; cost: number } | undefined;
      for (const [groupId, replicas] of placement) {
        if (!replicas.includes(from) || replicas.includes(to)) continue;
        const byNode = scores.get(groupId)!;
        const cost = byNode.get(from)! - byNode.get(to)!;
        if (best === undefined || cost < best.cost) best = { groupId, cost };
      }
      if (best !== undefined) return { groupId: best.groupId, from, to };
    }
  }
  return undefined;
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
