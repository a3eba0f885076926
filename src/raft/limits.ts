// Defaults for the Raft core's named limits, and how they must relate.
// Every queue the core keeps is bounded by one of these.

import { assert } from "../util/assert.js";

export const limits = {
  /** Ticks without hearing from a leader before campaigning (randomized up to twice this). */
  electionTicks: 10,
  heartbeatTicks: 1,
  /** Entry bytes per append message. */
  messageBytesMax: 1024 * 1024,
  /** Append messages in flight to one follower while replicating. */
  inflightMessagesMax: 256,
  /** Entry bytes in flight to one follower. */
  inflightBytesMax: 32 * 1024 * 1024,
  /** Proposed-but-uncommitted entry bytes a leader accepts before rejecting proposals. */
  uncommittedBytesMax: 64 * 1024 * 1024,
  /** Committed entry bytes handed out by one Ready. */
  committedBytesPerReadyMax: 16 * 1024 * 1024,
  /** Snapshot bytes per snapshot message. */
  snapshotChunkBytes: 1024 * 1024,
  /** Heartbeat send times remembered for lease reads. */
  heartbeatHistoryMax: 256,
  /** Reads waiting for a leader's first commit, or for a heartbeat round. */
  pendingReadsMax: 65_536,
} as const;

assert(limits.inflightBytesMax >= limits.messageBytesMax, "a single message must fit in flight");
assert(limits.uncommittedBytesMax >= limits.messageBytesMax, "a full message must be proposable");
assert(limits.electionTicks > limits.heartbeatTicks, "heartbeats must come before elections");
