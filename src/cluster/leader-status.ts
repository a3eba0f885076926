// Finding a group's leader and what it reports (its configuration and each
// follower's progress), from hints: this node's own member, the routing
// table, the replicas on record. A node asked that is not the leader names
// the one it follows, which is asked next.

import type { GroupId, NodeId } from "../raft/types.js";
import type { Logger } from "../util/logger.js";
import { AdminMethod, callJson, type MemberStatus } from "./group-admin.js";
import { groupName } from "./group-ids.js";
import type { PeerRpc } from "./peer-rpc.js";
import type { Routing } from "./routing.js";

/** Nodes asked at most, hints and referrals together. */
const askedMax = 6;

export async function leaderStatus(
  rpc: PeerRpc,
  routing: Routing,
  groupId: GroupId,
  hints: readonly NodeId[],
  logger: Logger,
): Promise<MemberStatus | undefined> {
  const candidates: NodeId[] = [];
  const consider = (id: NodeId | undefined) => {
    if (id !== undefined && id !== 0 && !candidates.includes(id)) candidates.push(id);
  };
  consider(routing.leaderOf(groupId));
  for (const id of hints) consider(id);
  for (const id of routing.replicasOf(groupId)) consider(id);
  for (let i = 0; i < candidates.length && i < askedMax; i++) {
    const node = candidates[i]!;
    try {
      const status = await callJson<MemberStatus>(
        rpc,
        node,
        AdminMethod.groupStatus,
        { groupId },
        1000,
      );
      if (status.role === "leader") {
        routing.noteLeader(groupId, node);
        return status;
      }
      consider(status.leader);
    } catch (error) {
      logger.debug({ group: groupName(groupId), node, err: error }, "no group status from node");
    }
  }
  return undefined;
}
