// Membership changes, with etcd-io/raft's ConfChangeV2 meaning and an
// automatic leave. A conf-change entry carries a list of changes, applied
// in order; it takes effect on each node when that node applies it.
//
// - A list that changes at most one voter applies directly: the old and new
//   voter sets differ by one node, so any majority of one meets any majority
//   of the other.
// - A list that changes more voters (promote learner X and remove voter Y,
//   the replica move) enters a joint configuration: `voters` become the
//   incoming set and the old voters the outgoing set, and every decision
//   needs a majority of both. The leader proposes the entry with no changes
//   that leaves it as soon as it has applied the joint one (raft.ts).
// - From an empty configuration (a joining member replaying the group's
//   first entry) a list applies directly: there is no old majority to meet.
// - While joint, the only change is leaving; leaving is refused otherwise.
// - Adding a voter that is one, or a learner that is one, changes nothing;
//   demoting a voter to a learner is refused (remove it, then add it back).
//
// Entry data layout (little-endian), frozen:
//   byte 0      format version: 2 (version 1, one change as type u8 + node
//               u32 with no version byte, is retired)
//   bytes 1..2  change count u16
//   then per change, 5 bytes: type u8 (ConfChangeType), node id u32

import { MemraftError } from "../util/errors.js";
import { isJoint } from "./quorum.js";
import { type ConfState, type Entry, EntryType, type NodeId } from "./types.js";

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

export const confChangeFormatVersion = 2;
const headerBytes = 3;
const changeBytes = 5;
/** Changes in one entry; a replica move needs two. */
export const confChangesMax = 64;

/** Conf-change entry data that cannot be what an encoder wrote. */
export class ConfChangeCorruption extends MemraftError {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super("ERR_CORRUPTION", `conf change entry is corrupt at offset ${offset}: ${reason}`, {
      offset,
      reason,
    });
    this.name = "ConfChangeCorruption";
  }
}

export function encodeConfChange(changes: readonly ConfChange[]): Uint8Array {
  if (changes.length > confChangesMax) {
    throw new MemraftError(
      "ERR_CONFIG",
      `conf change: ${changes.length} changes, at most ${confChangesMax}`,
      { count: changes.length },
    );
  }
  const bytes = new Uint8Array(headerBytes + changeBytes * changes.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, confChangeFormatVersion);
  view.setUint16(1, changes.length, true);
  changes.forEach((change, i) => {
    view.setUint8(headerBytes + changeBytes * i, change.type);
    view.setUint32(headerBytes + changeBytes * i + 1, change.nodeId, true);
  });
  return bytes;
}

/** The changes in conf-change entry data; throws ConfChangeCorruption for bytes no encoder wrote. */
export function decodeConfChange(data: Uint8Array): ConfChange[] {
  if (data.length < headerBytes)
    throw new ConfChangeCorruption(0, `${data.length} bytes, expected at least ${headerBytes}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint8(0);
  if (version !== confChangeFormatVersion)
    throw new ConfChangeCorruption(
      0,
      `format version ${version}, expected ${confChangeFormatVersion}`,
    );
  const count = view.getUint16(1, true);
  if (count > confChangesMax)
    throw new ConfChangeCorruption(1, `${count} changes, at most ${confChangesMax}`);
  const expected = headerBytes + changeBytes * count;
  if (data.length !== expected)
    throw new ConfChangeCorruption(
      1,
      `${data.length} bytes for ${count} changes, expected ${expected}`,
    );
  const changes: ConfChange[] = [];
  for (let i = 0; i < count; i++) {
    const at = headerBytes + changeBytes * i;
    const type = view.getUint8(at);
    if (type < ConfChangeType.addVoter || type > ConfChangeType.removeNode)
      throw new ConfChangeCorruption(at, `unknown change type ${type}`);
    const nodeId = view.getUint32(at + 1, true);
    if (nodeId === 0) throw new ConfChangeCorruption(at + 1, "node id 0");
    changes.push({ type: type as ConfChangeType, nodeId });
  }
  return changes;
}

export type ConfChangePlan =
  | { readonly kind: "apply"; readonly conf: ConfState }
  | { readonly kind: "refuse"; readonly reason: string };

/** The configuration `changes` lead to from `conf`, or why they cannot apply to it. */
export function planConfChange(conf: ConfState, changes: readonly ConfChange[]): ConfChangePlan {
  if (changes.length === 0) {
    if (!isJoint(conf)) return refuse("not in a joint configuration: there is nothing to leave");
    return apply({ voters: conf.voters, learners: conf.learners, votersOutgoing: [] });
  }
  if (isJoint(conf))
    return refuse("in a joint configuration: the only change allowed is leaving it");
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  for (const { type, nodeId } of changes) {
    if (!Number.isSafeInteger(nodeId) || nodeId <= 0 || nodeId > 0xffff_ffff)
      return refuse(`node id ${nodeId} is not a positive u32`);
    switch (type) {
      case ConfChangeType.addVoter:
        learners.delete(nodeId);
        voters.add(nodeId);
        break;
      case ConfChangeType.addLearner:
        if (voters.has(nodeId) || conf.voters.includes(nodeId))
          return refuse(`node ${nodeId} is a voter; demotion is not supported`);
        learners.add(nodeId);
        break;
      case ConfChangeType.removeNode:
        if (!voters.delete(nodeId) && !learners.delete(nodeId))
          return refuse(`node ${nodeId} is not a member`);
        break;
    }
  }
  if (voters.size === 0) return refuse("the change leaves no voter");
  const next = { voters: ascending(voters), learners: ascending(learners) };
  let changed = 0;
  for (const id of next.voters) if (!conf.voters.includes(id)) changed++;
  for (const id of conf.voters) if (!voters.has(id)) changed++;
  if (changed <= 1 || conf.voters.length === 0) return apply({ ...next, votersOutgoing: [] });
  return apply({ ...next, votersOutgoing: conf.voters });
}

/**
 * The configuration in force once `entry` is applied on top of `before`,
 * exactly as the core computes it: a normal entry, or a change that cannot
 * apply (the core logs and skips it), leaves `before`. An owner stores the
 * result with its applied state at every conf-change entry, and restarts
 * the core from it. Throws ConfChangeCorruption for data no encoder wrote.
 */
export function confStateAfter(before: ConfState, entry: Entry): ConfState {
  if (entry.type !== EntryType.confChange) return before;
  const plan = planConfChange(before, decodeConfChange(entry.data));
  return plan.kind === "apply" ? plan.conf : before;
}

export function describeConfState(conf: ConfState): string {
  const outgoing = isJoint(conf) ? ` outgoing [${conf.votersOutgoing}]` : "";
  return `voters [${conf.voters}]${outgoing} learners [${conf.learners}]`;
}

function ascending(ids: Set<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

function apply(conf: ConfState): ConfChangePlan {
  return { kind: "apply", conf };
}

function refuse(reason: string): ConfChangePlan {
  return { kind: "refuse", reason };
}
