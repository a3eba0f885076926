// The Raft protocol for one group member: elections (with pre-vote and
// check-quorum), replication with flow control, ReadIndex and lease reads,
// leadership transfer, membership changes (joint consensus, left
// automatically; conf-change.ts) and chunked snapshots. Pure: no I/O, no clock, no randomness but config.random.
// Everything leaves through `outbox` and the log marks; raw-node.ts turns
// them into a Ready. Roles swap the `stepRole` and `tickRole` fields.
//
// Must not import node:* or anything that does I/O.

import { assert } from "../util/assert.js";
import {
  type ConfChange,
  confStateAfter,
  decodeConfChange,
  describeConfState,
  encodeConfChange,
  planConfChange,
} from "./conf-change.js";
import { type RaftConfig, type ResolvedRaftConfig, resolveRaftConfig } from "./config.js";
import { NotLeaderError, ProposalDroppedError } from "./errors.js";
import { limits } from "./limits.js";
import { Progress } from "./progress.js";
import { allVoters, isJoint, quorumValue, quorumVote } from "./quorum.js";
import { RaftLog } from "./raft-log.js";
import {
  type AppendMessage,
  type AppendResponseMessage,
  type ConfState,
  type Entry,
  EntryType,
  entryBytes,
  entryOverheadBytes,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type Message,
  MessageType,
  type NodeId,
  type ReadState,
  type Role,
  type Snapshot,
  type SnapshotMessage,
  type SnapshotResponseMessage,
  type VoteMessage,
} from "./types.js";

/** What a member reloads from durable storage when it starts. */
export interface RaftStartState {
  readonly hardState: HardState;
  /** The stored log: entries after (offset, offsetTerm). */
  readonly offset: number;
  readonly offsetTerm: number;
  readonly entries: readonly Entry[];
  /** The state machine's durable applied index; entries after it are applied again. */
  readonly applied: number;
  /** The configuration in force at `applied` (see confStateAfter in conf-change.ts). */
  readonly conf: ConfState;
  /** The latest snapshot, if any, for followers that fall behind the log. */
  readonly snapshot?: Snapshot | undefined;
  /**
   * Nothing above is durable yet (a new group's first state, from
   * RawNode.bootstrapState): the first Ready hands out its entries and hard
   * state for persisting.
   */
  readonly unsaved?: boolean;
}

interface ReadRound {
  /** The commit index when the reads arrived: they may be served once applied reaches it. */
  readonly index: number;
  readonly contexts: number[];
  /** The heartbeat sequence number that confirms leadership for this round. */
  heartbeatSequence: number;
}

interface SnapshotReceipt {
  readonly index: number;
  readonly term: number;
  readonly chunks: Uint8Array[];
  receivedBytes: number;
}

export class Raft {
  readonly config: ResolvedRaftConfig;
  readonly id: NodeId;
  readonly groupId: number;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = 0;
  lead: NodeId = 0;
  role: Role = "follower";
  conf: ConfState;
  readonly progress = new Map<NodeId, Progress>();
  /** Messages to send once this node's state is durable (see raw-node.ts). */
  outbox: Message[] = [];
  readStates: ReadState[] = [];
  /** As leader: the index of the no-op that opened this term. */
  termStartIndex = 0;
  /** A received snapshot the owner must install. */
  pendingSnapshot: Snapshot | undefined;
  /** The snapshot this node sends to followers behind its log. */
  latestSnapshot: Snapshot | undefined;

  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  /** Ticks since start; the lease clock. */
  private tickCount = 0;
  private leadTransferee: NodeId = 0;
  /**
   * No lease reads before this tick: a timeout-now from a transfer may still
   * be in flight after the transfer was aborted, and it lets its receiver
   * win votes inside our lease.
   */
  private leaseBlockedUntilTick = 0;
  /**
   * Lease reads count only heartbeats from this sequence on: a leader that
   * was quiet did not tick, so older heartbeats look younger than they are.
   */
  private leaseHeartbeatMin = 1;
  /** See `quiesced`. */
  private quiet = false;
  /** A leader proposes no conf change until it has applied this index. */
  private pendingConfIndex = 0;
  /**
   * As leader: the index of the entry whose configuration leaves this node
   * out, once proposed (or applied, by a leader elected with it already in
   * its log); no entry is proposed after it. So when the leader steps down,
   * its log ends there, as do the logs of the majority that committed it:
   * whichever of them campaigns next has a log as up to date as ours and
   * gets our vote, which it may need while it has not yet learned the entry
   * is committed (a joint half may count us). See also `handover`.
   */
  private leavingIndex = 0;
  /**
   * Set while a leader removed by a configuration it applied hands over:
   * per voter of that configuration, the heartbeat from which on its
   * acknowledgement means it knows the commit (see finishHandover).
   */
  private handover: Map<NodeId, number> | undefined;
  /**
   * The configurations applied since the oldest index a snapshot may still
   * be taken at, ascending: each holds from its index to the next one's. A
   * snapshot below the applied index needs the configuration of its own
   * index. One element per conf change between snapshots.
   */
  private confHistory: { readonly index: number; readonly conf: ConfState }[];
  private uncommittedBytes = 0;
  /** Proposals arrived since the last Ready: broadcast them once. */
  private broadcastPending = false;
  private heartbeatSequence = 0;
  private readonly heartbeatSentTicks: Float64Array;
  private readsAwaitingCommit: number[] = [];
  private openReadRound: ReadRound | undefined;
  private readRounds: ReadRound[] = [];
  private snapshotReceipt: SnapshotReceipt | undefined;
  /**
   * Lease mode: a restarted member forgot which leader it heard from, so it
   * refuses votes for one election timeout after starting, as if it had.
   */
  private startupVoteHold = false;
  private stepRole: (message: Message) => void = this.stepFollower;
  private tickRole: () => void = this.tickElection;

  constructor(config: RaftConfig, start: RaftStartState) {
    this.config = resolveRaftConfig(config);
    this.id = this.config.id;
    this.groupId = this.config.groupId;
    this.heartbeatSentTicks = new Float64Array(limits.heartbeatHistoryMax);
    this.log = RaftLog.restore({
      offset: start.offset,
      offsetTerm: start.offsetTerm,
      entries: start.entries,
      committed: start.hardState.commit,
      applied: start.applied,
      durable: start.unsaved !== true,
    });
    this.term = start.hardState.term;
    this.vote = start.hardState.vote;
    this.conf = start.conf;
    this.confHistory = [{ index: start.applied, conf: start.conf }];
    this.latestSnapshot = start.snapshot;
    this.resetProgress();
    this.becomeFollower(this.term, 0);
    this.startupVoteHold = this.config.readMode === "lease";
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Votes in the configuration in force (in either half while joint). */
  isVoter(id: NodeId = this.id): boolean {
    return this.conf.voters.includes(id) || this.conf.votersOutgoing.includes(id);
  }

  leadTransfereeId(): NodeId {
    return this.leadTransferee;
  }

  ticksSinceHeard(progress: Progress): number {
    return this.tickCount - progress.lastHeardTick;
  }

  /**
   * The group is idle and this member went quiet: tick() does nothing and
   * no heartbeats flow. Any message, proposal, read, transfer or campaign
   * wakes it; a follower woken by anyone but its leader tells the leader,
   * so the whole group wakes. A quiet follower never times out by itself:
   * the owner calls wake() when the leader's node seems down.
   */
  get quiesced(): boolean {
    return this.quiet;
  }

  /** Wakes a quiet member (see `quiesced`); does nothing to one that is awake. */
  wake(): void {
    if (this.quiet) this.wakeFor(0);
  }

  /** A conf change is in the log but not yet applied here (as leader: or not yet proposable). */
  confChangePending(): boolean {
    return this.pendingConfIndex > this.log.applied;
  }

  // ---- owner-facing calls --------------------------------------------------

  tick(): void {
    if (this.quiet) return;
    this.tickCount++;
    this.tickRole();
  }

  step(message: Message): void {
    assert(message.groupId === this.groupId, () => `raft: message for group ${message.groupId}`);
    assert(
      message.to === this.id,
      () => `raft: message for node ${message.to} stepped on ${this.id}`,
    );
    if (this.quiet && this.wakes(message)) this.wakeFor(message.from);
    if (message.term > this.term) {
      if (!this.acceptHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.answerStaleTerm(message);
      return;
    }
    switch (message.type) {
      case MessageType.vote:
      case MessageType.preVote:
        this.handleVoteRequest(message);
        return;
      default:
        this.stepRole(message);
    }
  }

  /** Starts an election now instead of waiting for the election timeout. */
  campaign(): void {
    this.wake();
    if (this.role === "leader") return;
    this.startElection(this.config.preVote ? "pre-election" : "election");
  }

  /** Appends `data` as a new entry; returns its index. Throws if this node cannot. */
  propose(data: Uint8Array, type: EntryType = EntryType.normal): number {
    this.wake();
    if (this.role !== "leader")
      throw new NotLeaderError(this.groupId, this.id, this.lead, "not leader");
    if (this.leadTransferee !== 0) {
      throw new NotLeaderError(
        this.groupId,
        this.id,
        this.leadTransferee,
        "leadership transfer in progress",
      );
    }
    if (this.leavingIndex !== 0) {
      throw new NotLeaderError(
        this.groupId,
        this.id,
        0,
        `leaving the group: the configuration without it is at ${this.leavingIndex}`,
      );
    }
    const bytes = data.length + entryOverheadBytes;
    if (
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + bytes > this.config.uncommittedBytesMax
    ) {
      throw new ProposalDroppedError(this.groupId, "too many uncommitted bytes", {
        uncommittedBytes: this.uncommittedBytes,
      });
    }
    const leaving =
      type === EntryType.confChange && this.checkConfChangeProposal(decodeConfChange(data));
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append(entry);
    this.uncommittedBytes += bytes;
    if (type === EntryType.confChange) this.pendingConfIndex = entry.index;
    if (leaving) this.leavingIndex = entry.index;
    this.broadcastPending = true;
    return entry.index;
  }

  /** Proposes `changes` as one entry (see conf-change.ts); returns its index. */
  proposeConfChange(changes: readonly ConfChange[]): number {
    return this.propose(encodeConfChange(changes), EntryType.confChange);
  }

  /**
   * Asks for a linearizable read tagged `context`. A ReadState with this
   * context appears in a later Ready (or never, if leadership is lost: the
   * owner times out reads it started under a lost role).
   */
  readIndex(context: number): void {
    this.wake();
    if (this.role !== "leader")
      throw new NotLeaderError(this.groupId, this.id, this.lead, "not leader");
    const waiting = this.readsAwaitingCommit.length + (this.openReadRound?.contexts.length ?? 0);
    if (waiting >= limits.pendingReadsMax) {
      throw new ProposalDroppedError(this.groupId, "too many pending reads", { waiting });
    }
    if (!this.committedInCurrentTerm()) {
      this.readsAwaitingCommit.push(context);
      return;
    }
    this.acceptRead(context);
  }

  transferLeadership(target: NodeId): void {
    this.wake();
    if (this.role !== "leader")
      throw new NotLeaderError(this.groupId, this.id, this.lead, "not leader");
    if (target === this.id || target === this.leadTransferee) return;
    // An outgoing voter would lead a group it is about to leave.
    if (!this.conf.voters.includes(target))
      throw new ProposalDroppedError(this.groupId, `node ${target} is not an incoming voter`);
    this.info(`starts transferring leadership to ${target}`);
    this.leadTransferee = target;
    this.leaseBlockedUntilTick = this.tickCount + 3 * this.config.electionTicks;
    this.electionElapsed = 0;
    const progress = this.progress.get(target)!;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target);
  }

  /**
   * Records the state machine's image at `index` for sending to followers
   * behind the log. REQUIRES: index <= the applied index, and the log still
   * holds the entry at index (its term goes into the snapshot). The owner may
   * take the image while later entries are being applied; followers then
   * catch up from the log after `index`.
   */
  createSnapshot(index: number, data: Uint8Array): Snapshot {
    assert(
      index <= this.log.applied,
      () => `raft: snapshot at ${index}, applied ${this.log.applied}`,
    );
    const term = this.log.term(index);
    assert(term !== undefined, "raft: snapshot term unknown");
    this.latestSnapshot = { meta: { index, term, conf: this.confAt(index) }, data };
    return this.latestSnapshot;
  }

  /** The configuration in force at `index`; forgets those before it. REQUIRES: index <= applied. */
  private confAt(index: number): ConfState {
    let at = this.confHistory.length - 1;
    while (at > 0 && this.confHistory[at]!.index > index) at--;
    const { index: from, conf } = this.confHistory[at]!;
    assert(from <= index, () => `raft: configuration at ${index} forgotten (history from ${from})`);
    this.confHistory.splice(0, at);
    return conf;
  }

  /** Drops entries up to `index`. REQUIRES: a snapshot at or beyond it. */
  compact(index: number): void {
    assert(
      this.latestSnapshot !== undefined && this.latestSnapshot.meta.index >= index,
      "raft: compact without snapshot",
    );
    this.log.compactTo(index);
  }

  /**
   * Called by raw-node once the owner applied entries up to `index`. Throws
   * ConfChangeCorruption for a conf-change entry that does not decode.
   */
  appliedTo(index: number, entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type === EntryType.confChange) this.applyConfChangeEntry(entry);
    }
    this.log.applied = index;
    this.maybeLeaveJoint();
  }

  /** Called by raw-node once entries up to (index, term) are durable here. */
  persistedTo(index: number, term: number): void {
    this.log.stableTo(index, term);
    if (this.role !== "leader") return;
    const own = this.progress.get(this.id);
    if (own?.maybeUpdate(this.log.stable) && this.maybeCommit()) this.broadcastPending = true;
  }

  /** Prepares batched work (broadcasts, read rounds) before a Ready is taken. */
  flushBatched(): void {
    if (this.broadcastPending) {
      this.broadcastPending = false;
      if (this.role === "leader") this.broadcastAppend();
    }
    const round = this.openReadRound;
    if (round !== undefined) {
      this.openReadRound = undefined;
      round.heartbeatSequence = this.broadcastHeartbeat();
      this.readRounds.push(round);
    }
  }

  hasBatched(): boolean {
    return this.broadcastPending || this.openReadRound !== undefined;
  }

  // ---- terms and votes -------------------------------------------------------

  /** A message from a higher term: false if it must be ignored. */
  private acceptHigherTerm(message: Message): boolean {
    if (message.type === MessageType.vote || message.type === MessageType.preVote) {
      const heardFromLeader =
        this.config.checkQuorum &&
        (this.lead !== 0 || this.startupVoteHold) &&
        this.electionElapsed < this.config.electionTicks;
      if (heardFromLeader && !message.transfer) {
        this.info(
          `ignores ${describeType(message.type)} from ${message.from} at term ${message.term}: leader ${this.lead} is alive`,
        );
        return false;
      }
    }
    if (message.type === MessageType.preVote) return true;
    if (message.type === MessageType.preVoteResponse && !message.reject) return true;
    const fromLeader =
      message.type === MessageType.append ||
      message.type === MessageType.heartbeat ||
      message.type === MessageType.snapshot;
    this.becomeFollower(message.term, fromLeader ? message.from : 0);
    return true;
  }

  private answerStaleTerm(message: Message): void {
    if (message.type === MessageType.append || message.type === MessageType.heartbeat) {
      // A leader cut off from us may have kept its term while we moved on:
      // tell it, or with check-quorum and pre-vote it would never learn.
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: message.from,
        term: this.term,
        type: MessageType.appendResponse,
        index: 0,
        reject: true,
        rejectHint: 0,
        logTermHint: 0,
      });
    } else if (message.type === MessageType.preVote) {
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: message.from,
        term: this.term,
        type: MessageType.preVoteResponse,
        reject: true,
      });
    } else if (message.type === MessageType.vote) {
      // A candidate behind in term would otherwise never learn it: one that
      // must win this node's vote (a member whose log is ahead) went on
      // campaigning a term or two below a member that kept campaigning with
      // a stale configuration, forever (seen in the simulator without
      // pre-vote). The rejection carries our term, as the Raft paper has it.
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: message.from,
        term: this.term,
        type: MessageType.voteResponse,
        reject: true,
      });
    }
  }

  private handleVoteRequest(message: VoteMessage): void {
    const isPreVote = message.type === MessageType.preVote;
    const canVote =
      this.vote === message.from ||
      (this.vote === 0 && this.lead === 0) ||
      (isPreVote && message.term > this.term);
    const granted = canVote && this.log.isUpToDate(message.index, message.logTerm);
    const responseType = isPreVote ? MessageType.preVoteResponse : MessageType.voteResponse;
    this.info(
      `${granted ? "grants" : "rejects"} ${describeType(message.type)} from ${message.from} at term ${message.term}`,
    );
    if (granted && !isPreVote) {
      this.electionElapsed = 0;
      this.vote = message.from;
    }
    // A granted pre-vote answers in the candidate's future term, so that the
    // candidate can tell it from a stale answer.
    const term = granted ? message.term : this.term;
    this.send({
      groupId: this.groupId,
      from: this.id,
      to: message.from,
      term,
      type: responseType,
      reject: !granted,
    });
  }

  private startElection(kind: "pre-election" | "election" | "transfer"): void {
    if (!this.isVoter()) return;
    if (kind === "pre-election") this.becomePreCandidate();
    else this.becomeCandidate();
    const voteType = kind === "pre-election" ? MessageType.preVote : MessageType.vote;
    const term = kind === "pre-election" ? this.term + 1 : this.term;
    if (this.recordVote(this.id, true) === "won") {
      if (kind === "pre-election") this.startElection("election");
      else this.becomeLeader();
      return;
    }
    for (const voter of allVoters(this.conf)) {
      if (voter === this.id) continue;
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: voter,
        term,
        type: voteType,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        transfer: kind === "transfer",
      });
    }
  }

  private recordVote(from: NodeId, granted: boolean): "won" | "lost" | "pending" {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    return quorumVote(this.conf, (id) => this.votes.get(id));
  }

  // ---- role transitions -------------------------------------------------------

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.lead = lead;
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.info(`became follower at term ${term}${lead === 0 ? "" : ` with leader ${lead}`}`);
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot become pre-candidate");
    // Neither the term nor the vote changes: a pre-election leaves no trace.
    this.votes = new Map();
    this.role = "pre-candidate";
    this.lead = 0;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
    this.info(`became pre-candidate at term ${this.term}`);
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "raft: leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
    this.info(`became candidate at term ${this.term}`);
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", "raft: only a candidate becomes leader");
    this.reset(this.term);
    this.role = "leader";
    this.lead = this.id;
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickHeartbeat;
    const own = this.progress.get(this.id);
    if (own !== undefined) own.becomeReplicate();
    // A configuration already in the log may leave this node out (elected
    // between its removal's entry and that entry's apply): it then takes no
    // proposal, as if it had proposed the removal itself.
    this.leavingIndex = this.unappliedRemovalIndex();
    // Entries of earlier terms commit only through one of this term (§5.4.2);
    // the no-op also lets ReadIndex and conf changes start.
    this.pendingConfIndex = this.log.lastIndex() + 1;
    this.termStartIndex = this.pendingConfIndex;
    this.log.append({
      index: this.log.lastIndex() + 1,
      term: this.term,
      type: EntryType.normal,
      data: new Uint8Array(0),
    });
    this.info(`became leader at term ${this.term}`);
    this.broadcastPending = true;
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.quiet = false;
    this.startupVoteHold = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTicks =
      this.config.electionTicks + this.config.random.int(this.config.electionTicks);
    this.votes = new Map();
    this.leadTransferee = 0;
    this.leavingIndex = 0;
    this.handover = undefined;
    this.uncommittedBytes = 0;
    this.broadcastPending = false;
    this.readsAwaitingCommit = [];
    this.openReadRound = undefined;
    this.readRounds = [];
    this.resetProgress();
  }

  private resetProgress(): void {
    this.progress.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of allVoters(this.conf)) this.progress.set(id, this.newProgress(id, next, false));
    for (const id of this.conf.learners) this.progress.set(id, this.newProgress(id, next, true));
  }

  private newProgress(id: NodeId, next: number, isLearner: boolean): Progress {
    const progress = new Progress(
      next,
      isLearner,
      this.config.inflightMessagesMax,
      this.config.inflightBytesMax,
    );
    if (id === this.id) {
      progress.match = this.log.stable;
      progress.next = Math.max(next, this.log.stable + 1);
      progress.recentActive = true;
    }
    return progress;
  }

  // ---- ticks --------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (!this.isVoter() || this.electionElapsed < this.randomizedElectionTicks) return;
    this.electionElapsed = 0;
    this.startupVoteHold = false;
    this.startElection(this.config.preVote ? "pre-election" : "election");
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumRecentlyActive()) {
        this.info("steps down: no quorum heard from in an election timeout");
        this.becomeFollower(this.term, 0);
        return;
      }
      if (this.leadTransferee !== 0) {
        this.info(`aborts leadership transfer to ${this.leadTransferee}`);
        this.leadTransferee = 0;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      if (this.canQuiesce()) {
        this.broadcastHeartbeat(true);
        this.quiet = true;
        return;
      }
      this.broadcastHeartbeat();
    }
    // A leave that was dropped (transfer, full queue) is retried here.
    this.maybeLeaveJoint();
  }

  /**
   * Nothing is left to do that needs time to pass: every member holds and
   * has acknowledged the whole log, it is committed and applied here, and
   * no read, transfer, snapshot or configuration step is under way.
   */
  private canQuiesce(): boolean {
    const log = this.log;
    const last = log.lastIndex();
    if (!this.config.quiesce || log.committed !== last || log.applied !== last) return false;
    if (this.leadTransferee !== 0 || this.leavingIndex !== 0 || this.broadcastPending) return false;
    if (isJoint(this.conf) || this.confChangePending()) return false;
    if (this.readRounds.length > 0 || this.openReadRound !== undefined) return false;
    if (this.readsAwaitingCommit.length > 0) return false;
    for (const progress of this.progress.values()) {
      if (progress.match !== last || progress.state !== "replicate") return false;
    }
    return true;
  }

  /**
   * Whether `message` wakes this quiet member. Answers to what a leader sent
   * before it went quiet (in flight while it decided) do not, or a busy
   * node would wake its groups as fast as they quiet: they carry nothing a
   * quiet leader needs, as every member had acknowledged its whole log.
   */
  private wakes(message: Message): boolean {
    if (message.term < this.term) return false;
    if (this.role !== "leader") {
      const quiesceFromLeader =
        message.type === MessageType.heartbeat &&
        message.quiesce &&
        message.term === this.term &&
        message.from === this.lead;
      return !quiesceFromLeader;
    }
    switch (message.type) {
      case MessageType.heartbeatResponse:
        // Context 0: a follower that woke asks for heartbeats (wakeFor).
        return message.context === 0;
      case MessageType.appendResponse:
        return message.reject;
      case MessageType.voteResponse:
      case MessageType.preVoteResponse:
        return false;
      default:
        return true;
    }
  }

  private wakeFor(from: NodeId): void {
    this.quiet = false;
    if (this.role === "leader") {
      // As after an election: the followers get a full election timeout to
      // answer, and the lease waits for a heartbeat sent from now on.
      this.electionElapsed = 0;
      for (const progress of this.progress.values()) progress.recentActive = true;
      this.leaseHeartbeatMin = this.heartbeatSequence + 1;
      this.broadcastHeartbeat();
      return;
    }
    if (this.lead !== 0 && from !== this.lead) {
      // The leader is quiet too: without this it would send no heartbeat,
      // and this member would time out and disturb a healthy group.
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: this.lead,
        term: this.term,
        type: MessageType.heartbeatResponse,
        context: 0,
      });
    }
  }

  private quorumRecentlyActive(): boolean {
    const active =
      quorumVote(this.conf, (id) => id === this.id || this.progress.get(id)!.recentActive) ===
      "won";
    for (const [id, progress] of this.progress) progress.recentActive = id === this.id;
    return active;
  }

  // ---- role step functions ---------------------------------------------------

  private stepFollower(message: Message): void {
    switch (message.type) {
      case MessageType.append:
        this.heardFromLeader(message.from);
        this.handleAppend(message);
        return;
      case MessageType.heartbeat:
        this.heardFromLeader(message.from);
        this.handleHeartbeat(message);
        return;
      case MessageType.snapshot:
        this.heardFromLeader(message.from);
        this.handleSnapshot(message);
        return;
      case MessageType.timeoutNow:
        this.info(`received timeout-now from ${message.from}: campaigning at once`);
        this.startElection("transfer");
        return;
      case MessageType.appendResponse:
      case MessageType.heartbeatResponse:
      case MessageType.snapshotResponse:
      case MessageType.voteResponse:
      case MessageType.preVoteResponse:
      case MessageType.vote:
      case MessageType.preVote:
        return;
    }
  }

  private heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.lead = from;
  }

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case MessageType.append:
      case MessageType.heartbeat:
      case MessageType.snapshot:
        // A leader exists in our term (a pre-candidate's term is the leader's).
        this.becomeFollower(message.term, message.from);
        this.stepFollower(message);
        return;
      case MessageType.voteResponse:
      case MessageType.preVoteResponse: {
        const expected =
          this.role === "pre-candidate" ? MessageType.preVoteResponse : MessageType.voteResponse;
        if (message.type !== expected) return;
        const outcome = this.recordVote(message.from, !message.reject);
        if (outcome === "won") {
          if (this.role === "pre-candidate") this.startElection("election");
          else this.becomeLeader();
        } else if (outcome === "lost") {
          this.becomeFollower(this.term, 0);
        }
        return;
      }
      case MessageType.timeoutNow:
      case MessageType.appendResponse:
      case MessageType.heartbeatResponse:
      case MessageType.snapshotResponse:
      case MessageType.vote:
      case MessageType.preVote:
        return;
    }
  }

  private stepLeader(message: Message): void {
    const progress = this.progress.get(message.from);
    switch (message.type) {
      case MessageType.appendResponse:
        if (progress === undefined) return;
        progress.heard(this.tickCount);
        this.handleAppendResponse(message, progress);
        return;
      case MessageType.heartbeatResponse:
        if (progress === undefined) return;
        progress.heard(this.tickCount);
        this.handleHeartbeatResponse(message, progress);
        return;
      case MessageType.snapshotResponse:
        if (progress === undefined) return;
        progress.heard(this.tickCount);
        this.handleSnapshotResponse(message, progress);
        return;
      case MessageType.append:
      case MessageType.heartbeat:
      case MessageType.snapshot:
        // Two leaders in one term would break election safety.
        assert(
          false,
          () =>
            `raft: leader ${this.id} got ${describeType(message.type)} from ${message.from} in its term ${this.term}`,
        );
        return;
      case MessageType.voteResponse:
      case MessageType.preVoteResponse:
      case MessageType.timeoutNow:
      case MessageType.vote:
      case MessageType.preVote:
        return;
    }
  }

  // ---- follower side of replication ---------------------------------------------

  private handleAppend(message: AppendMessage): void {
    if (message.index < this.log.committed) {
      this.respondAppend(message.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(message.index, message.logTerm)) {
      const lastMatch = this.log.appendFromLeader(message.index, message.entries);
      this.log.commitTo(Math.min(message.commit, lastMatch));
      this.respondAppend(message.from, lastMatch);
      return;
    }
    const hintIndex = this.log.findConflictByTerm(
      Math.min(message.index, this.log.lastIndex()),
      message.logTerm,
    );
    this.info(
      `rejects append at ${message.index}/${message.logTerm} from ${message.from}; hint ${hintIndex}`,
    );
    this.send({
      groupId: this.groupId,
      from: this.id,
      to: message.from,
      term: this.term,
      type: MessageType.appendResponse,
      index: message.index,
      reject: true,
      rejectHint: hintIndex,
      logTermHint: this.log.term(hintIndex) ?? 0,
    });
  }

  private respondAppend(to: NodeId, index: number): void {
    this.send({
      groupId: this.groupId,
      from: this.id,
      to,
      term: this.term,
      type: MessageType.appendResponse,
      index,
      reject: false,
      rejectHint: 0,
      logTermHint: 0,
    });
  }

  private handleHeartbeat(message: HeartbeatMessage): void {
    if (
      message.quiesce &&
      this.log.lastIndex() === message.commit &&
      this.log.term(message.commit) === message.term
    ) {
      // Our log is the leader's, all committed: nothing can change until
      // the leader or the owner wakes us. No answer, so the leader stays quiet.
      this.log.commitTo(message.commit);
      this.quiet = true;
      return;
    }
    this.log.commitTo(Math.min(message.commit, this.log.lastIndex()));
    this.send({
      groupId: this.groupId,
      from: this.id,
      to: message.from,
      term: this.term,
      type: MessageType.heartbeatResponse,
      context: message.context,
    });
  }

  private handleSnapshot(message: SnapshotMessage): void {
    const { meta } = message;
    if (meta.index <= this.log.committed) {
      this.snapshotReceipt = undefined;
      this.respondAppend(message.from, this.log.committed);
      return;
    }
    let receipt = this.snapshotReceipt;
    if (receipt === undefined || receipt.index !== meta.index || receipt.term !== meta.term) {
      receipt = { index: meta.index, term: meta.term, chunks: [], receivedBytes: 0 };
      this.snapshotReceipt = receipt;
    }
    if (message.offset === receipt.receivedBytes) {
      receipt.chunks.push(message.chunk);
      receipt.receivedBytes += message.chunk.length;
    }
    if (receipt.receivedBytes < message.totalBytes) {
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: message.from,
        term: this.term,
        type: MessageType.snapshotResponse,
        snapshotIndex: meta.index,
        nextOffset: receipt.receivedBytes,
      });
      return;
    }
    this.snapshotReceipt = undefined;
    this.restoreSnapshot({ meta, data: concatChunks(receipt.chunks, receipt.receivedBytes) });
    this.respondAppend(message.from, meta.index);
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    const { meta } = snapshot;
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We hold the snapshot's last entry, so we hold everything before it:
      // wiping the log would lose entries after it that we may have acked.
      this.info(`already has snapshot entry ${meta.index}/${meta.term}: advances commit only`);
      this.log.commitTo(meta.index);
      return;
    }
    this.info(`restores snapshot at ${meta.index}/${meta.term}`);
    this.log.restoreSnapshot(meta);
    this.conf = meta.conf;
    this.confHistory = [{ index: meta.index, conf: meta.conf }];
    this.resetProgress();
    this.pendingSnapshot = snapshot;
    this.latestSnapshot = snapshot;
  }

  // ---- leader side of replication -----------------------------------------------

  private handleAppendResponse(message: AppendResponseMessage, progress: Progress): void {
    if (message.reject) {
      let hint = message.rejectHint;
      if (message.logTermHint > 0) hint = this.log.findConflictByTerm(hint, message.logTermHint);
      if (progress.maybeDecreaseTo(message.index, hint)) {
        if (progress.state === "replicate") progress.becomeProbe();
        this.sendAppend(message.from);
      }
      return;
    }
    const wasPaused = progress.isPaused();
    // A probe answered at the match we already knew (a progress that was
    // reset, e.g. on promotion) still ends the probe: waiting for news
    // would stall until a heartbeat.
    const probeAnswered = progress.state === "probe" && message.index === progress.match;
    if (!progress.maybeUpdate(message.index) && !probeAnswered) return;
    if (progress.state === "probe") progress.becomeReplicate();
    else if (progress.state === "snapshot" && progress.match >= progress.snapshotIndex) {
      progress.becomeProbe();
      progress.becomeReplicate();
    } else if (progress.state === "replicate") progress.inflights.freeTo(message.index);
    if (this.maybeCommit()) this.broadcastAppend();
    else if (wasPaused) this.sendAppend(message.from);
    while (this.sendAppend(message.from, { sendIfEmpty: false })) {}
    if (message.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    }
  }

  private handleHeartbeatResponse(message: HeartbeatResponseMessage, progress: Progress): void {
    progress.probeSent = false;
    progress.heartbeatAcked = Math.max(progress.heartbeatAcked, message.context);
    if (this.handover !== undefined) {
      this.finishHandover();
      if (this.role !== "leader") return;
    }
    if (progress.state === "snapshot") this.sendSnapshotChunk(message.from, progress);
    else if (progress.match < this.log.lastIndex()) {
      // In replicate state a full window may hide lost appends: probe the tail.
      if (progress.state === "replicate" && progress.isPaused())
        this.sendEmptyAppend(message.from, progress);
      else this.sendAppend(message.from);
    }
    this.releaseConfirmedReads();
  }

  private handleSnapshotResponse(message: SnapshotResponseMessage, progress: Progress): void {
    if (progress.state !== "snapshot" || progress.snapshotIndex !== message.snapshotIndex) return;
    if (message.nextOffset <= progress.snapshotOffset && message.nextOffset !== 0) return;
    progress.snapshotOffset = message.nextOffset;
    this.sendSnapshotChunk(message.from, progress);
  }

  /** Sends the next append to `to` if flow control allows; true if one was sent. */
  private sendAppend(
    to: NodeId,
    options: { sendIfEmpty: boolean } = { sendIfEmpty: true },
  ): boolean {
    const progress = this.progress.get(to);
    if (progress === undefined || to === this.id || progress.isPaused()) return false;
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(progress.next, this.config.messageBytesMax);
    if (prevTerm === undefined || entries === undefined) {
      this.startSnapshot(to, progress);
      return false;
    }
    if (entries.length === 0 && !options.sendIfEmpty) return false;
    let bytes = 0;
    for (const entry of entries) bytes += entryBytes(entry);
    this.send({
      groupId: this.groupId,
      from: this.id,
      to,
      term: this.term,
      type: MessageType.append,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    progress.sentAppend(prevIndex + entries.length, bytes);
    return true;
  }

  private sendEmptyAppend(to: NodeId, progress: Progress): void {
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      progress.becomeProbe();
      this.sendAppend(to);
      return;
    }
    this.send({
      groupId: this.groupId,
      from: this.id,
      to,
      term: this.term,
      type: MessageType.append,
      index: prevIndex,
      logTerm: prevTerm,
      entries: [],
      commit: Math.min(this.log.committed, progress.match),
    });
  }

  private startSnapshot(to: NodeId, progress: Progress): void {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined) {
      // The owner compacted the log before this run recorded a snapshot (a
      // restart): it takes one soon; the follower is probed again until then.
      this.info(`has no snapshot yet for ${to}, behind the compacted log`);
      return;
    }
    this.info(`sends snapshot ${snapshot.meta.index}/${snapshot.meta.term} to ${to}`);
    progress.becomeSnapshot(snapshot.meta.index);
    this.sendSnapshotChunk(to, progress);
  }

  private sendSnapshotChunk(to: NodeId, progress: Progress): void {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined || snapshot.meta.index !== progress.snapshotIndex) {
      progress.becomeProbe();
      return;
    }
    const offset = Math.min(progress.snapshotOffset, snapshot.data.length);
    const end = Math.min(offset + this.config.snapshotChunkBytes, snapshot.data.length);
    this.send({
      groupId: this.groupId,
      from: this.id,
      to,
      term: this.term,
      type: MessageType.snapshot,
      meta: snapshot.meta,
      totalBytes: snapshot.data.length,
      offset,
      chunk: snapshot.data.subarray(offset, end),
    });
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** Sends a heartbeat to every follower; returns its sequence number. */
  private broadcastHeartbeat(quiesce = false): number {
    const sequence = ++this.heartbeatSequence;
    this.heartbeatSentTicks[sequence % limits.heartbeatHistoryMax] = this.tickCount;
    if (this.handover !== undefined) {
      // A voter that holds the whole committed log learns the commit from this heartbeat.
      for (const id of allVoters(this.conf)) {
        const progress = this.progress.get(id);
        if (
          progress !== undefined &&
          !this.handover.has(id) &&
          progress.match >= this.log.committed
        )
          this.handover.set(id, sequence);
      }
    }
    for (const [id, progress] of this.progress) {
      if (id === this.id) continue;
      this.send({
        groupId: this.groupId,
        from: this.id,
        to: id,
        term: this.term,
        type: MessageType.heartbeat,
        commit: Math.min(progress.match, this.log.committed),
        context: sequence,
        quiesce,
      });
    }
    this.releaseConfirmedReads();
    return sequence;
  }

  /** A removed leader steps down once a quorum of its configuration's voters knows the commit. */
  private finishHandover(): void {
    const told = this.handover!;
    const known = quorumVote(this.conf, (id) => {
      const sequence = told.get(id);
      return sequence !== undefined && this.progress.get(id)!.heartbeatAcked >= sequence
        ? true
        : undefined;
    });
    if (known !== "won") return;
    this.info("steps down: removed from the configuration, and its voters know");
    this.becomeFollower(this.term, 0);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.info(`sends timeout-now to ${to}`);
    this.send({
      groupId: this.groupId,
      from: this.id,
      to,
      term: this.term,
      type: MessageType.timeoutNow,
    });
  }

  /** Advances commit to the quorum's match if it is in this term; true if it moved. */
  private maybeCommit(): boolean {
    const quorumMatch = quorumValue(this.conf, (id) => this.progress.get(id)!.match);
    if (quorumMatch <= this.log.committed || this.log.term(quorumMatch) !== this.term) return false;
    for (let index = this.log.committed + 1; index <= quorumMatch; index++) {
      const entry = this.log.entry(index);
      if (entry.term === this.term)
        this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entryBytes(entry));
    }
    this.log.commitTo(quorumMatch);
    if (this.readsAwaitingCommit.length > 0 && this.committedInCurrentTerm()) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const context of waiting) this.acceptRead(context);
    }
    return true;
  }

  // ---- reads ----------------------------------------------------------------

  /**
   * The index a read may be served at now, with no confirmation round and
   * no wait for a commit in this term: on an awake leader that is the only
   * voter or holds a valid lease. Undefined otherwise. Unlike readIndex()
   * it registers nothing, so a caller may ask on every read and fall back.
   */
  immediateReadIndex(): number | undefined {
    if (this.role !== "leader" || this.quiet || !this.committedInCurrentTerm()) return undefined;
    return this.readsNeedNoRound() ? this.log.committed : undefined;
  }

  /** A leader that is the only voter, or holds a valid lease, confirms reads without asking. */
  private readsNeedNoRound(): boolean {
    return quorumVote(this.conf, (id) => id === this.id) === "won" || this.leaseValid();
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private acceptRead(context: number): void {
    if (this.readsNeedNoRound()) {
      this.readStates.push({ index: this.log.committed, context });
      return;
    }
    if (this.openReadRound === undefined) {
      this.openReadRound = { index: this.log.committed, contexts: [], heartbeatSequence: 0 };
    }
    this.openReadRound.contexts.push(context);
  }

  /** Releases read rounds whose heartbeat a quorum has answered, in order. */
  private releaseConfirmedReads(): void {
    while (this.readRounds.length > 0) {
      const round = this.readRounds[0]!;
      const acked = quorumValue(this.conf, (id) =>
        id === this.id ? Number.POSITIVE_INFINITY : this.progress.get(id)!.heartbeatAcked,
      );
      if (acked < round.heartbeatSequence) return;
      this.readRounds.shift();
      for (const context of round.contexts) this.readStates.push({ index: round.index, context });
    }
  }

  private leaseValid(): boolean {
    if (this.config.readMode !== "lease" || this.leadTransferee !== 0) return false;
    if (this.tickCount < this.leaseBlockedUntilTick) return false;
    // The lease runs from the send time of the newest heartbeat a quorum acknowledged.
    const leaseStart = quorumValue(this.conf, (id) => {
      if (id === this.id) return this.tickCount;
      const acked = this.progress.get(id)!.heartbeatAcked;
      const remembered =
        acked >= this.leaseHeartbeatMin &&
        this.heartbeatSequence - acked < limits.heartbeatHistoryMax;
      return remembered
        ? this.heartbeatSentTicks[acked % limits.heartbeatHistoryMax]!
        : Number.NEGATIVE_INFINITY;
    });
    return this.tickCount < leaseStart + this.config.electionTicks - this.config.leaseDriftTicks;
  }

  // ---- membership ------------------------------------------------------------

  /** The unapplied conf-change entry whose configuration leaves this node out, or 0. */
  private unappliedRemovalIndex(): number {
    let conf = this.conf;
    for (let index = this.log.applied + 1; index <= this.log.lastIndex(); index++) {
      const entry = this.log.entry(index);
      if (entry.type !== EntryType.confChange) continue;
      conf = confStateAfter(conf, entry);
      if (!allVoters(conf).includes(this.id)) return index;
    }
    return 0;
  }

  /** Throws if `changes` cannot be proposed now; whether they leave this node out. */
  private checkConfChangeProposal(changes: readonly ConfChange[]): boolean {
    if (this.confChangePending()) {
      throw new ProposalDroppedError(this.groupId, "a configuration change is pending", {
        pendingConfIndex: this.pendingConfIndex,
        applied: this.log.applied,
      });
    }
    const plan = planConfChange(this.conf, changes);
    if (plan.kind === "refuse") throw new ProposalDroppedError(this.groupId, plan.reason);
    return !allVoters(plan.conf).includes(this.id);
  }

  private applyConfChangeEntry(entry: Entry): void {
    const plan = planConfChange(this.conf, decodeConfChange(entry.data));
    if (plan.kind === "refuse") {
      this.info(`skips conf change at ${entry.index}: ${plan.reason}`);
      return;
    }
    this.conf = plan.conf;
    this.confHistory.push({ index: entry.index, conf: plan.conf });
    this.info(`applies conf change at ${entry.index}: ${describeConfState(this.conf)}`);
    this.updateProgressMembers();
    if (this.role !== "leader") {
      // Votes still arriving must not make a leader of a non-member.
      if (this.role !== "follower" && !this.isVoter()) {
        this.info("stops campaigning: removed from the configuration");
        this.becomeFollower(this.term, 0);
      }
      return;
    }
    if (!this.isVoter()) {
      // Followers may not know yet that our removal is committed; until a
      // quorum of the new voters does, they may still be in the joint
      // configuration and need this node's vote, which it would refuse,
      // its log being longer. So it leads on, taking no proposals, until a
      // quorum of them has acknowledged a heartbeat carrying that commit
      // (stepping down at once wedged a group when those appends were lost).
      if (this.leavingIndex === 0) this.leavingIndex = entry.index;
      this.handover = new Map();
      this.info("hands over: removed from the configuration, leads until its voters know");
      this.broadcastAppend();
      this.broadcastHeartbeat();
      return;
    }
    if (this.leadTransferee !== 0 && !this.conf.voters.includes(this.leadTransferee))
      this.leadTransferee = 0;
    this.maybeCommit();
    this.broadcastAppend();
  }

  /** Gives every member of the new configuration a progress, keeping what is known of the others. */
  private updateProgressMembers(): void {
    const next = this.log.lastIndex() + 1;
    const voters = allVoters(this.conf);
    for (const id of [...this.progress.keys()]) {
      if (!voters.includes(id) && !this.conf.learners.includes(id)) this.progress.delete(id);
    }
    for (const id of voters) {
      const existing = this.progress.get(id);
      if (existing === undefined) this.progress.set(id, this.newProgress(id, next, false));
      else existing.isLearner = false;
    }
    for (const id of this.conf.learners) {
      if (!this.progress.has(id)) this.progress.set(id, this.newProgress(id, next, true));
    }
  }

  /**
   * A leader that applied a joint configuration proposes leaving it. A new
   * leader gets here once it applied its no-op (its pendingConfIndex), so a
   * joint configuration is never left hanging by a leader change; a dropped
   * proposal is retried on the next tick.
   */
  private maybeLeaveJoint(): void {
    if (this.role !== "leader" || !isJoint(this.conf) || this.confChangePending()) return;
    // A transfer refuses proposals; it ends within an election timeout.
    if (this.leadTransferee !== 0) return;
    try {
      const index = this.proposeConfChange([]);
      this.info(`proposes leaving the joint configuration at ${index}`);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError || error instanceof NotLeaderError)) throw error;
      this.info(`cannot leave the joint configuration yet: ${error.message}`);
    }
  }

  // ---- helpers --------------------------------------------------------------

  /**
   * Messages are written out as whole object literals, envelope included:
   * spreading a shared envelope made V8 build hidden classes per message,
   * a large share of a busy cluster's CPU (docs/BENCHMARKS.md, run 6).
   */
  private send(message: Message): void {
    this.outbox.push(message);
  }

  private info(text: string): void {
    this.config.logger.info(`${this.id} ${text}`);
  }
}

function concatChunks(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const data = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return data;
}

const typeNames: Record<MessageType, string> = {
  [MessageType.append]: "append",
  [MessageType.appendResponse]: "append-response",
  [MessageType.vote]: "vote",
  [MessageType.voteResponse]: "vote-response",
  [MessageType.preVote]: "pre-vote",
  [MessageType.preVoteResponse]: "pre-vote-response",
  [MessageType.heartbeat]: "heartbeat",
  [MessageType.heartbeatResponse]: "heartbeat-response",
  [MessageType.snapshot]: "snapshot",
  [MessageType.snapshotResponse]: "snapshot-response",
  [MessageType.timeoutNow]: "timeout-now",
};

export function describeType(type: MessageType): string {
  return typeNames[type];
}
