// The owner's handle on one group member, in the etcd-io/raft shape: feed it
// tick() and step(), take a Ready, act on it, then call advance().
//
// The Ready contract, in order:
//   1. Persist `snapshot` (if any: install it into the state machine first,
//      then record it), `entries` and `hardState` durably. `entries` may
//      start at or below the last persisted index: everything from its first
//      index on is replaced (a suffix truncation).
//   2. Only then send `messages`: votes and acknowledgements promise that
//      what they describe survives a crash.
//   3. Apply `committedEntries` in order, and serve each `readStates` read
//      once the applied index reaches its index.
//   4. Call advance(). No other Ready is handed out in between; step(),
//      tick(), propose() and readIndex() may be called at any time.
//
// A failed write or fsync must not be followed by advance(): the member
// stops and restarts from what is durable (fsync errors cannot be retried).

import { assert } from "../util/assert.js";
import type { ConfChange } from "./conf-change.js";
import type { RaftConfig } from "./config.js";
import { Raft, type RaftStartState } from "./raft.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  entryBytes,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
} from "./types.js";

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
    this.previousHardState = this.raft.hardState();
    this.previousSoftState = { lead: this.raft.lead, role: this.raft.role };
  }

  /** A state for a member that never ran: empty log, the given configuration. */
  static bootstrapState(conf: ConfState): RaftStartState {
    return {
      hardState: { term: 0, vote: 0, commit: 0 },
      offset: 0,
      offsetTerm: 0,
      entries: [],
      applied: 0,
      conf,
    };
  }

  tick(): void {
    this.raft.tick();
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

  proposeConfChange(change: ConfChange): number {
    return this.raft.proposeConfChange(change);
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
    };
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
