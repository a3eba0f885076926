// Whether the cluster may move from its committed configuration to a new
// one. The file was already checked on its own (config.ts); this checks the
// step: what cannot change once the cluster exists, ids never reused, and
// no node deleted while it still holds replicas (which would drop groups
// below quorum, or take two voters of one group at once). Pure.

import { placementDefect } from "../ring/placement.js";
import { groupName } from "./group-ids.js";
import type { GroupReplicas } from "./metadata.js";
import type { CommittedConfig, Topology } from "./topology.js";

/** Every reason the change is refused; empty when it may be committed. */
export function topologyChangeProblems(
  committed: CommittedConfig,
  next: Topology,
  replicas: ReadonlyMap<number, GroupReplicas>,
): string[] {
  const problems: string[] = [];
  const before = committed.topology;
  if (next.name !== before.name) {
    problems.push(
      `cluster.name is "${next.name}" but this cluster is "${before.name}"; a file for another cluster?`,
    );
  }
  if (next.groups !== before.groups) {
    problems.push(
      `cluster.groups cannot change once the cluster exists (it has ${before.groups}, the file says ${next.groups}): keys would change groups`,
    );
  }
  const nextIds = new Set(next.nodes.map((node) => node.id));
  for (const id of committed.retired) {
    if (nextIds.has(id)) {
      problems.push(`node id ${id} belonged to a node that was removed; ids are never reused`);
    }
  }
  const deleted = before.nodes.filter((node) => !nextIds.has(node.id)).map((node) => node.id);
  const holding = new Map<string, number[]>();
  for (const [groupId, group] of replicas) {
    for (const id of [...group.voters, ...group.learners]) {
      if (!deleted.includes(id)) continue;
      holding.set(id, [...(holding.get(id) ?? []), groupId]);
    }
    const deletedVoters = group.voters.filter((id) => deleted.includes(id));
    if (deletedVoters.length >= 2) {
      problems.push(
        `group ${groupName(groupId)} would lose ${deletedVoters.length} voters at once (${deletedVoters.join(", ")}); remove one node at a time`,
      );
    }
    const quorum = Math.floor(group.voters.length / 2) + 1;
    if (deletedVoters.length > 0 && group.voters.length - deletedVoters.length < quorum) {
      problems.push(
        `group ${groupName(groupId)} would drop below quorum (${group.voters.length - deletedVoters.length} of ${group.voters.length} voters left)`,
      );
    }
  }
  for (const [id, groupIds] of holding) {
    problems.push(
      `node ${id} still holds replicas of group(s) ${groupIds.map(groupName).join(", ")}: mark it "draining: true", apply, wait until the rebalance finishes, then delete it`,
    );
  }
  const defect = placementDefect(next.nodes, next.replicationFactor);
  if (defect !== undefined) problems.push(defect);
  return problems;
}
