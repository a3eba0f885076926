// Membership changes, one node at a time: a change is an entry, it takes
// effect on every node when that node applies it, and a leader keeps at most
// one unapplied change in its log (so old and new configurations always
// share a majority). Removing the leader is allowed: it steps down when it
// applies its own removal.
//
// Entry data layout (little-endian), frozen:
//   byte 0      change type (1 add voter, 2 add learner, 3 remove node)
//   bytes 1..4  node id (u32)

import { assert } from "../util/assert.js";
import type { ConfState, NodeId } from "./types.js";

export const ConfChangeType = {
  addVoter: 1,
  addLearner: 2,
  removeNode: 3,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  const bytes = new Uint8Array(5);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, change.type);
  view.setUint32(1, change.nodeId, true);
  return bytes;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.length === 5, () => `conf change: ${data.length} bytes, expected 5`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint8(0);
  assert(type >= 1 && type <= 3, () => `conf change: unknown type ${type}`);
  return { type: type as ConfChangeType, nodeId: view.getUint32(1, true) };
}

/** Why `change` cannot apply to `conf`, or undefined when it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | undefined {
  if (change.nodeId <= 0) return "node id must be positive";
  const isVoter = conf.voters.includes(change.nodeId);
  const isLearner = conf.learners.includes(change.nodeId);
  switch (change.type) {
    case ConfChangeType.addVoter:
      return isVoter ? `node ${change.nodeId} is already a voter` : undefined;
    case ConfChangeType.addLearner:
      if (isLearner) return `node ${change.nodeId} is already a learner`;
      return isVoter ? `node ${change.nodeId} is a voter; demotion is not supported` : undefined;
    case ConfChangeType.removeNode:
      if (!isVoter && !isLearner) return `node ${change.nodeId} is not a member`;
      return isVoter && conf.voters.length === 1 ? "cannot remove the last voter" : undefined;
  }
}

/** The configuration after `change`. REQUIRES: no problem with it. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  if (change.type === ConfChangeType.addVoter) voters.push(change.nodeId);
  if (change.type === ConfChangeType.addLearner) learners.push(change.nodeId);
  voters.sort((a, b) => a - b);
  learners.sort((a, b) => a - b);
  return { voters, learners };
}
