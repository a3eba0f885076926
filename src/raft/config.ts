// The settings of one Raft group member, validated once when it starts.

import { ConfigError } from "../util/errors.js";
import { limits } from "./limits.js";
import type { RaftLogger } from "./logger.js";
import type { Random } from "./prng.js";
import type { GroupId, NodeId } from "./types.js";

export interface RaftConfig {
  readonly id: NodeId;
  readonly groupId: GroupId;
  /** Randomness for election jitter: a seeded PRNG keeps runs reproducible. */
  readonly random: Random;
  readonly logger: RaftLogger;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Run a trial election before bumping the term (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** Leader steps down without a quorum; followers ignore votes while a leader is alive. Default true. */
  readonly checkQuorum?: boolean;
  /**
   * "safe" (default): every read confirms leadership with a heartbeat round.
   * "lease": reads are served without a round while a quorum acknowledged a
   * heartbeat sent less than electionTicks - leaseDriftTicks ago. This trusts
   * that no node's clock runs faster than another's by more than
   * leaseDriftTicks per election timeout, and that no message is delayed by
   * more than three election timeouts (a leader stops lease reads for that
   * long after starting a leadership transfer); requires checkQuorum.
   */
  readonly readMode?: "safe" | "lease";
  /**
   * An idle group goes quiet (no ticks, no heartbeats) once every member
   * holds the whole log; default true. Its followers then never time out by
   * themselves: the owner must wake them (RawNode.wake) when it suspects
   * their leader's node is down, as a node-level failure detector does.
   */
  readonly quiesce?: boolean;
  readonly leaseDriftTicks?: number;
  readonly messageBytesMax?: number;
  readonly inflightMessagesMax?: number;
  readonly inflightBytesMax?: number;
  readonly uncommittedBytesMax?: number;
  readonly committedBytesPerReadyMax?: number;
  readonly snapshotChunkBytes?: number;
}

export type ResolvedRaftConfig = Required<RaftConfig>;

export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    electionTicks: limits.electionTicks,
    heartbeatTicks: limits.heartbeatTicks,
    preVote: true,
    checkQuorum: true,
    readMode: "safe",
    quiesce: true,
    leaseDriftTicks: 2,
    messageBytesMax: limits.messageBytesMax,
    inflightMessagesMax: limits.inflightMessagesMax,
    inflightBytesMax: limits.inflightBytesMax,
    uncommittedBytesMax: limits.uncommittedBytesMax,
    committedBytesPerReadyMax: limits.committedBytesPerReadyMax,
    snapshotChunkBytes: limits.snapshotChunkBytes,
    ...config,
  };
  const fail = (message: string) => {
    throw new ConfigError(`raft config: ${message}`, {
      groupId: resolved.groupId,
      nodeId: resolved.id,
    });
  };
  if (!Number.isSafeInteger(resolved.id) || resolved.id <= 0) fail("id must be a positive integer");
  if (!Number.isSafeInteger(resolved.groupId) || resolved.groupId < 0)
    fail("groupId must be a non-negative integer");
  if (resolved.heartbeatTicks < 1) fail("heartbeatTicks must be at least 1");
  if (resolved.electionTicks <= resolved.heartbeatTicks)
    fail("electionTicks must exceed heartbeatTicks");
  if (resolved.inflightMessagesMax < 1) fail("inflightMessagesMax must be at least 1");
  if (resolved.inflightBytesMax < resolved.messageBytesMax)
    fail("inflightBytesMax must be at least messageBytesMax");
  if (resolved.snapshotChunkBytes < 1) fail("snapshotChunkBytes must be positive");
  if (resolved.readMode === "lease") {
    if (!resolved.checkQuorum) fail("lease reads require checkQuorum");
    if (resolved.leaseDriftTicks < 1 || resolved.leaseDriftTicks >= resolved.electionTicks) {
      fail("leaseDriftTicks must be in [1, electionTicks)");
    }
  }
  return resolved;
}
