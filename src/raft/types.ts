// The values the Raft core exchanges with its owner: log entries, hard
// state, configuration, snapshots and messages. Pure data, no behaviour.
// Numeric codes travel on the wire and on disk: never renumber them.

export type NodeId = number;
export type GroupId = number;

export const EntryType = {
  normal: 0,
  confChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Opaque to Raft. Empty for the leader's no-op. */
  readonly data: Uint8Array;
}

/** What must be durable before a node answers anyone. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`; 0 for nobody. */
  readonly vote: NodeId;
  readonly commit: number;
}

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * A group's membership. Ids ascend in each list; a node is in at most one of
 * `voters` and `learners`, and no learner is an outgoing voter.
 */
export interface ConfState {
  /** The voters; while joint, the incoming ones. */
  readonly voters: readonly NodeId[];
  /** Receive the log but neither vote in elections nor count for commit. */
  readonly learners: readonly NodeId[];
  /**
   * While a joint configuration is in force, the voters before it: every
   * decision then needs a majority of `voters` and one of these. Empty
   * otherwise.
   */
  readonly votersOutgoing: readonly NodeId[];
}

/** What a member that joins an existing group knows before the leader tells it. */
export const emptyConfState: ConfState = { voters: [], learners: [], votersOutgoing: [] };

export interface SnapshotMeta {
  /** The last entry the snapshot covers, and its term. */
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's image at meta.index; opaque to Raft. */
  readonly data: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

export interface SoftState {
  readonly lead: NodeId;
  readonly role: Role;
}

/** A linearizable read may be served once the applied index reaches `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: number;
}

export const MessageType = {
  append: 1,
  appendResponse: 2,
  vote: 3,
  voteResponse: 4,
  preVote: 5,
  preVoteResponse: 6,
  heartbeat: 7,
  heartbeatResponse: 8,
  snapshot: 9,
  snapshotResponse: 10,
  timeoutNow: 11,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

interface Envelope {
  readonly groupId: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface AppendMessage extends Envelope {
  readonly type: typeof MessageType.append;
  /** The entry just before `entries`, which the receiver must hold. */
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponseMessage extends Envelope {
  readonly type: typeof MessageType.appendResponse;
  /** Accepted: the last index now known to match. Rejected: the probed index. */
  readonly index: number;
  readonly reject: boolean;
  /** Rejected only: the receiver's guess of the last index that may match, and its term. */
  readonly rejectHint: number;
  readonly logTermHint: number;
}

export interface VoteMessage extends Envelope {
  readonly type: typeof MessageType.vote | typeof MessageType.preVote;
  /** The candidate's last entry. */
  readonly index: number;
  readonly logTerm: number;
  /** Sent on a leadership transfer: overrides the recently-heard-from-leader rule. */
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends Envelope {
  readonly type: typeof MessageType.voteResponse | typeof MessageType.preVoteResponse;
  readonly reject: boolean;
}

export interface HeartbeatMessage extends Envelope {
  readonly type: typeof MessageType.heartbeat;
  readonly commit: number;
  /** A leader-chosen sequence number the response echoes (ReadIndex, lease). */
  readonly context: number;
  /**
   * The leader goes quiet: it stops ticking and heartbeating until something
   * happens. A follower holding the leader's whole log (ending at `commit`,
   * in this term) goes quiet too and does not answer (see Raft.quiesced).
   */
  readonly quiesce: boolean;
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: typeof MessageType.heartbeatResponse;
  readonly context: number;
}

export interface SnapshotMessage extends Envelope {
  readonly type: typeof MessageType.snapshot;
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  /** Where `chunk` starts in the snapshot data. */
  readonly offset: number;
  readonly chunk: Uint8Array;
}

export interface SnapshotResponseMessage extends Envelope {
  readonly type: typeof MessageType.snapshotResponse;
  readonly snapshotIndex: number;
  /** Bytes received so far: where the next chunk must start. */
  readonly nextOffset: number;
}

export interface TimeoutNowMessage extends Envelope {
  readonly type: typeof MessageType.timeoutNow;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | SnapshotResponseMessage
  | TimeoutNowMessage;

export function entryBytes(entry: Entry): number {
  return entry.data.length + entryOverheadBytes;
}

/** Index, term and type as they are framed; counts toward byte limits. */
export const entryOverheadBytes = 24;
