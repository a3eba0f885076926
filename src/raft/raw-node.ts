// The owner's handle on one group member, in the etcd-io/raft shape: feed it
// tick() and step(), take a Ready, act on it, then call advance().
//
// The Ready contract, in order:
//   1. Persist `snapshot` (if any: install it into the state machine first,
//      then record it), `entries` and `hardState` durably. `entries` may
//      start at or below the last persisted index: everything from its first
//      index on is replaced (a suffix truncation).
//   2. Only then send `messages`: votes and acknowledgements promise that
//      what they describe survives a crash. The messages for which
//      canSendBeforeSave() is true may instead leave before step 1.
//   3. Apply `committedEntries` in order, and serve each `readStates` read
//      once the applied index reaches its index.
//   4. Call advance(). No other Ready is handed out in between; step(),
//      tick(), propose() and readIndex() may be called at any time.
//
// A failed write or fsync must not be followed by advance(): the member
// stops and restarts from what is durable (fsync errors cannot be retried).

import { assert } from "../util/assert.js";
import { type ConfChange, ConfChangeType, encodeConfChange } from "./conf-change.js";
import type { RaftConfig } from "./config.js";
import type { ProgressState } from "./progress.js";
import { isJoint } from "./quorum.js";
import { Raft, type RaftStartState } from "./raft.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  emptyConfState,
  emptyHardState,
  entryBytes,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
} from "./types.js";

/**
 * Whether `message` may leave before its Ready is persisted: a leader's
 * appends, heartbeats and snapshot chunks promise nothing about its own
 * disk, as the leader counts its own entries toward commit only once they
 * are durable (Raft thesis §10.2.1). Sent early, followers write while the
 * leader does.
 */
export function canSendBeforeSave(message: Message): boolean {
  return (
    message.type === MessageType.append ||
    message.type === MessageType.heartbeat ||
    message.type === MessageType.snapshot
  );
}

export interface Ready {
  /** Set when the leader or role changed since the last Ready. */
  readonly softState: SoftState | undefined;
  /** Set when term, vote or commit changed; persist before sending. */
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** Whether step 1 needs an fsync (new entries, snapshot, term or vote). */
  readonly mustSync: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly groupId: number;
  readonly role: SoftState["role"];
  readonly lead: NodeId;
  readonly hardState: HardState;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  /** The configuration is joint: a majority of both voter sets decides. */
  readonly joint: boolean;
  /** A conf change is not yet applied here; a leader refuses another until it is. */
  readonly confChangePending: boolean;
  /** Leader only: the voter leadership is being handed to, or 0. */
  readonly leadTransferee: NodeId;
  /** Idle and quiet: no ticks, no heartbeats until something happens (Raft.quiesced). */
  readonly quiesced: boolean;
  /** Leader only (undefined otherwise): every member's replication, this node's included. */
  readonly peers: readonly PeerStatus[] | undefined;
}

/** A leader's view of one member, for deciding when a new replica has caught up. */
export interface PeerStatus {
  readonly id: NodeId;
  /** "outgoing": votes only in the outgoing half of a joint configuration (being removed). */
  readonly membership: "voter" | "outgoing" | "learner";
  /** The last index known to be in its log. */
  readonly match: number;
  readonly next: number;
  /** probe: looking for where logs agree; replicate: streaming; snapshot: being sent one. */
  readonly state: ProgressState;
  /** Snapshot state: the index of the snapshot being sent, and the bytes it confirmed. */
  readonly snapshotIndex: number;
  readonly snapshotOffset: number;
  readonly inflightMessages: number;
  /** Ticks since a message from it arrived (0 for this node); Infinity if none did in this term. */
  readonly ticksSinceHeard: number;
}

export class RawNode {
  readonly raft: Raft;
  private previousHardState: HardState;
  private previousSoftState: SoftState;
  /** What the Ready being processed covers; undefined when none is out. */
  private inProgress:
    | { lastIndex: number; lastTerm: number; appliedTo: number; applied: readonly Entry[] }
    | undefined;

  constructor(config: RaftConfig, start: RaftStartState) {
    this.raft = new Raft(config, start);
    this.previousHardState = start.unsaved === true ? emptyHardState : this.raft.hardState();
    this.previousSoftState = { lead: this.raft.lead, role: this.raft.role };
  }

  /**
   * The start of every initial member of a new group: the configuration is
   * the group's first entry (index 1, term 1, committed), as in etcd-io/raft,
   * and is also in force from the start, so a group can elect before
   * anything is applied (applying entry 1 then changes nothing).
   *
   * Why in the log rather than as the state at index 0 (as before) or a
   * synthetic snapshot at index 1: a member that joins later starts empty,
   * and whether the leader feeds it from index 1 or sends it a snapshot
   * (which carries the configuration), it ends with the exact
   * configuration. Entry 1 is persisted and applied through the owner's
   * ordinary Ready path, so the shared log needs no special compaction mark
   * and the state machine no image at index 1. Every initial member must be
   * given the same configuration: the entry is built from it byte for byte
   * (ids ascending), and differing entries at 1/1 would break log matching.
   *
   * The first Ready hands out entry 1 and the hard state to persist; until
   * they are durable the member may start from here again.
   */
  static bootstrapState(initial: Pick<ConfState, "voters" | "learners">): RaftStartState {
    const voters = [...new Set(initial.voters)].sort((a, b) => a - b);
    const learners = [...new Set(initial.learners)].sort((a, b) => a - b);
    assert(voters.length > 0, "raw node: a group starts with at least one voter");
    assert(
      learners.every((id) => !voters.includes(id)),
      () => `raw node: bootstrap voters [${voters}] and learners [${learners}] overlap`,
    );
    const changes: ConfChange[] = [
      ...voters.map((nodeId) => ({ type: ConfChangeType.addVoter, nodeId })),
      ...learners.map((nodeId) => ({ type: ConfChangeType.addLearner, nodeId })),
    ];
    const first: Entry = {
      index: 1,
      term: 1,
      type: EntryType.confChange,
      data: encodeConfChange(changes),
    };
    return {
      hardState: { term: 1, vote: 0, commit: 1 },
      offset: 0,
      offsetTerm: 0,
      entries: [first],
      applied: 0,
      conf: { voters, learners, votersOutgoing: [] },
      unsaved: true,
    };
  }

  /**
   * The start of a member created for an existing group on a new node: an
   * empty log and an empty configuration. It never campaigns or counts
   * itself; it takes the leader's appends, heartbeats and snapshot and
   * learns the configuration from entry 1 or from the snapshot. The owner
   * adds it to the group (as a learner) with a conf change on the leader.
   */
  static joiningState(): RaftStartState {
    return {
      hardState: emptyHardState,
      offset: 0,
      offsetTerm: 0,
      entries: [],
      applied: 0,
      conf: emptyConfState,
    };
  }

  tick(): void {
    this.raft.tick();
  }

  /** Whether the group is idle and this member quiet (see Raft.quiesced): tick() may be skipped. */
  get quiesced(): boolean {
    return this.raft.quiesced;
  }

  /** Wakes a quiet member: call it when its leader's node seems down (see Raft.quiesced). */
  wake(): void {
    this.raft.wake();
  }

  step(message: Message): void {
    this.raft.step(message);
  }

  campaign(): void {
    this.raft.campaign();
  }

  propose(data: Uint8Array): number {
    return this.raft.propose(data, EntryType.normal);
  }

  /** Proposes one conf-change entry of `changes` (conf-change.ts); returns its index. */
  proposeConfChange(changes: readonly ConfChange[]): number {
    return this.raft.proposeConfChange(changes);
  }

  readIndex(context: number): void {
    this.raft.readIndex(context);
  }

  /**
   * The index of this leader's first entry in its term (its no-op), or 0
   * when not leading. Every entry before it was committed by an earlier
   * leader, and every entry a client was told about is applied up to here
   * once the applied index reaches it.
   */
  termStartIndex(): number {
    return this.raft.role === "leader" ? this.raft.termStartIndex : 0;
  }

  /**
   * A read that needs no confirmation round (a single voter, or a valid
   * lease) is confirmed at once: returns its read index, and no ReadState
   * for it comes in a Ready. Otherwise returns undefined and the ReadState
   * comes later, as with readIndex().
   */
  readIndexNow(context: number): number | undefined {
    const raft = this.raft;
    raft.readIndex(context);
    const at = raft.readStates.findIndex((state) => state.context === context);
    if (at === -1) return undefined;
    const [state] = raft.readStates.splice(at, 1);
    return state!.index;
  }

  /** See Raft.immediateReadIndex: readIndexNow's answer, asked without registering a read. */
  immediateReadIndex(): number | undefined {
    return this.raft.immediateReadIndex();
  }

  transferLeadership(target: NodeId): void {
    this.raft.transferLeadership(target);
  }

  createSnapshot(index: number, data: Uint8Array): Snapshot {
    return this.raft.createSnapshot(index, data);
  }

  compact(index: number): void {
    this.raft.compact(index);
  }

  hasReady(): boolean {
    if (this.inProgress !== undefined) return false;
    const raft = this.raft;
    const log = raft.log;
    return (
      raft.hasBatched() ||
      raft.outbox.length > 0 ||
      raft.readStates.length > 0 ||
      raft.pendingSnapshot !== undefined ||
      log.unstableFrom <= log.lastIndex() ||
      log.committed > log.applied ||
      raft.lead !== this.previousSoftState.lead ||
      raft.role !== this.previousSoftState.role ||
      !sameHardState(raft.hardState(), this.previousHardState)
    );
  }

  ready(): Ready {
    assert(this.inProgress === undefined, "raw node: ready() before advance()");
    const raft = this.raft;
    const log = raft.log;
    raft.flushBatched();
    const entries = log.entries.slice(log.unstableFrom - log.offset - 1);
    const committedEntries = this.committedToApply();
    const hardState = raft.hardState();
    const softState = { lead: raft.lead, role: raft.role };
    const hardStateChanged = !sameHardState(hardState, this.previousHardState);
    const ready: Ready = {
      softState:
        softState.lead !== this.previousSoftState.lead ||
        softState.role !== this.previousSoftState.role
          ? softState
          : undefined,
      hardState: hardStateChanged ? hardState : undefined,
      snapshot: raft.pendingSnapshot,
      entries,
      committedEntries,
      messages: raft.outbox,
      readStates: raft.readStates,
      mustSync:
        entries.length > 0 ||
        raft.pendingSnapshot !== undefined ||
        hardState.term !== this.previousHardState.term ||
        hardState.vote !== this.previousHardState.vote,
    };
    this.previousHardState = hardState;
    this.previousSoftState = softState;
    raft.outbox = [];
    raft.readStates = [];
    raft.pendingSnapshot = undefined;
    log.unstableFrom = log.lastIndex() + 1;
    const last = committedEntries[committedEntries.length - 1];
    this.inProgress = {
      lastIndex: log.lastIndex(),
      lastTerm: log.lastTerm(),
      appliedTo: last === undefined ? log.applied : last.index,
      applied: committedEntries,
    };
    return ready;
  }

  /** The owner persisted, sent and applied the last Ready. */
  advance(): void {
    const done = this.inProgress;
    assert(done !== undefined, "raw node: advance() without ready()");
    this.inProgress = undefined;
    this.raft.persistedTo(done.lastIndex, done.lastTerm);
    if (done.appliedTo > this.raft.log.applied) this.raft.appliedTo(done.appliedTo, done.applied);
  }

  status(): Status {
    const raft = this.raft;
    return {
      id: raft.id,
      groupId: raft.groupId,
      role: raft.role,
      lead: raft.lead,
      hardState: raft.hardState(),
      applied: raft.log.applied,
      firstIndex: raft.log.firstIndex(),
      lastIndex: raft.log.lastIndex(),
      conf: raft.conf,
      joint: isJoint(raft.conf),
      confChangePending: raft.confChangePending(),
      leadTransferee: raft.leadTransfereeId(),
      quiesced: raft.quiesced,
      peers: raft.role === "leader" ? this.peerStatuses() : undefined,
    };
  }

  private peerStatuses(): PeerStatus[] {
    const raft = this.raft;
    const peers: PeerStatus[] = [];
    for (const [id, progress] of raft.progress) {
      peers.push({
        id,
        membership: raft.conf.voters.includes(id)
          ? "voter"
          : progress.isLearner
            ? "learner"
            : "outgoing",
        match: progress.match,
        next: progress.next,
        state: progress.state,
        snapshotIndex: progress.snapshotIndex,
        snapshotOffset: progress.snapshotOffset,
        inflightMessages: progress.inflights.messageCount,
        ticksSinceHeard: id === raft.id ? 0 : raft.ticksSinceHeard(progress),
      });
    }
    return peers.sort((a, b) => a.id - b.id);
  }

  private committedToApply(): Entry[] {
    const log = this.raft.log;
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = log.applied + 1; index <= log.committed; index++) {
      const entry = log.entry(index);
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > this.raft.config.committedBytesPerReadyMax) break;
      result.push(entry);
    }
    return result;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
