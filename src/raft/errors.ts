// Operating errors the core reports to its owner. They are thrown only from
// the owner-facing calls (propose, readIndex, transferLeadership), never
// from step() or tick().

import { MemraftError } from "../util/errors.js";
import type { GroupId, NodeId } from "./types.js";

/** The node cannot take the request now; `lead` hints where to go (0: unknown). */
export class NotLeaderError extends MemraftError {
  constructor(groupId: GroupId, nodeId: NodeId, lead: NodeId, reason: string) {
    super("ERR_NOT_LEADER", `group ${groupId}: node ${nodeId} cannot serve: ${reason}`, {
      groupId,
      nodeId,
      lead,
      reason,
    });
    this.name = "NotLeaderError";
  }
}

/** A bounded queue is full or a change is already pending; retry later. */
export class ProposalDroppedError extends MemraftError {
  constructor(groupId: GroupId, reason: string, context: Record<string, number> = {}) {
    super("ERR_QUEUE_FULL", `group ${groupId}: proposal dropped: ${reason}`, {
      groupId,
      reason,
      ...context,
    });
    this.name = "ProposalDroppedError";
  }
}
