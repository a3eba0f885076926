// Where this node sends a request for a group it does not lead: the group's
// replicas as the metadata group last recorded them, and the leader most
// recently seen or named by a peer. Hints only: a node that is not the
// leader says so (and whom it believes leads), and the caller tries again.

import type { GroupId, NodeId } from "../raft/types.js";

export class Routing {
  private readonly replicas = new Map<GroupId, readonly NodeId[]>();
  private readonly leaders = new Map<GroupId, NodeId>();

  /** Replaces the group's replica list (voters first). */
  setReplicas(groupId: GroupId, nodeIds: readonly NodeId[]): void {
    this.replicas.set(groupId, [...nodeIds]);
  }

  replicasOf(groupId: GroupId): readonly NodeId[] {
    return this.replicas.get(groupId) ?? [];
  }

  groupIds(): GroupId[] {
    return [...this.replicas.keys()].sort((a, b) => a - b);
  }

  /** A node that leads the group (seen, or named by a peer); 0 forgets the guess. */
  noteLeader(groupId: GroupId, nodeId: NodeId): void {
    if (nodeId === 0) this.leaders.delete(groupId);
    else this.leaders.set(groupId, nodeId);
  }

  leaderOf(groupId: GroupId): NodeId | undefined {
    return this.leaders.get(groupId);
  }

  /**
   * Whom to ask on attempt `attempt` (0, 1, ...): the leader guess first,
   * then the replicas in turn, so a stale guess costs one attempt.
   */
  target(groupId: GroupId, attempt: number, self: NodeId): NodeId | undefined {
    const leader = this.leaders.get(groupId);
    if (leader !== undefined && leader !== self && attempt === 0) return leader;
    const others = this.replicasOf(groupId).filter((id) => id !== self);
    if (others.length === 0) return leader !== self ? leader : undefined;
    return others[attempt % others.length];
  }
}
