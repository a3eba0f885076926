// One simulated member: a RawNode, its SimDisk and its state machine, run
// through the Ready contract with a disk sync that takes simulated time.
// Like a real owner it keeps the configuration beside its applied state,
// computed with confStateAfter at every applied entry, restarts the core
// from it, and checks that the core agrees after every Ready.

import { confStateAfter, describeConfState } from "../../src/raft/conf-change.js";
import type { RaftConfig } from "../../src/raft/config.js";
import type { Prng } from "../../src/raft/prng.js";
import type { RaftStartState } from "../../src/raft/raft.js";
import { canSendBeforeSave, RawNode, type Ready } from "../../src/raft/raw-node.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type Snapshot,
} from "../../src/raft/types.js";
import { SimDisk } from "./disk.js";
import { type Invariants, InvariantViolation } from "./invariants.js";
import { type Command, decodeCommand, RegisterMachine } from "./state-machine.js";

export interface NodeCallbacks {
  send(message: Message): void;
  /** A command this node proposed was applied at its index. */
  proposalApplied(command: Command, applied: boolean): void;
  readServed(context: number, value: number | null): void;
  event(line: string): void;
}

/** What a member saved: the durable log and hard state, and its latest snapshot. */
export interface SavedMember {
  readonly hardState: HardState;
  readonly offset: number;
  readonly offsetTerm: number;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
}

/**
 * Where an owner restarts a member: from what it saved, with the
 * configuration kept beside its applied state (here, the snapshot's), or,
 * if it never saved anything, from the start it was created with: an initial
 * member's bootstrap, or a joiner's empty state (`bootConf` empty).
 */
export function restartState(saved: SavedMember, bootConf: ConfState): RaftStartState {
  const { hardState, entries, snapshot } = saved;
  if (hardState.term === 0 && entries.length === 0 && snapshot === undefined) {
    return bootConf.voters.length === 0 ? RawNode.joiningState() : RawNode.bootstrapState(bootConf);
  }
  return {
    hardState,
    offset: saved.offset,
    offsetTerm: saved.offsetTerm,
    entries,
    applied: snapshot?.meta.index ?? 0,
    conf: snapshot?.meta.conf ?? bootConf,
    snapshot,
  };
}

export class SimNode {
  readonly disk = new SimDisk();
  raw: RawNode | undefined;
  machine = new RegisterMachine();
  /** The configuration at the applied index, as the owner computes it. */
  conf: ConfState;
  /** Started at least once: a spare joiner id is not until it joins. */
  created = false;
  /** Removed from the group and its data deleted: never restarts. */
  destroyed = false;
  private inProgress: { ready: Ready; syncAt: number } | undefined;
  /** The index of the last entry applied to `machine` (or of the snapshot it came from). */
  private appliedIndex = 0;
  /** Proposals made here, by index, until applied or the node crashes. */
  private proposals = new Map<number, { client: number; seq: number }>();
  private reads: { index: number; context: number; key: string }[] = [];
  readonly readKeys = new Map<number, string>();

  constructor(
    readonly id: number,
    private readonly config: Omit<RaftConfig, "id">,
    private readonly bootConf: ConfState,
    private readonly invariants: Invariants,
    private readonly callbacks: NodeCallbacks,
    /** Send what canSendBeforeSave allows before the Ready's sync, as the real node does. */
    private readonly sendBeforeSave: boolean,
  ) {
    this.conf = bootConf;
  }

  get up(): boolean {
    return this.raw !== undefined;
  }

  start(): void {
    this.created = true;
    const snapshot = this.disk.snapshot;
    this.conf = snapshot?.meta.conf ?? this.bootConf;
    this.machine =
      snapshot === undefined ? new RegisterMachine() : RegisterMachine.fromSnapshot(snapshot.data);
    this.appliedIndex = snapshot?.meta.index ?? 0;
    this.raw = new RawNode(
      { ...this.config, id: this.id },
      restartState({ ...this.disk, snapshot }, this.bootConf),
    );
    this.invariants.nodeRestarted(this.id);
  }

  /** The owner deleted this removed member's data: it is gone for good. */
  destroy(): void {
    this.callbacks.event(`${this.id} is destroyed (removed from the group)`);
    this.raw = undefined;
    this.inProgress = undefined;
    this.destroyed = true;
  }

  crash(random: Prng, reason: string): void {
    this.callbacks.event(`${this.id} crashes (${reason})`);
    this.disk.crash(random);
    this.raw = undefined;
    this.inProgress = undefined;
    this.proposals.clear();
    this.reads = [];
    this.readKeys.clear();
  }

  propose(command: Command, data: Uint8Array): void {
    const index = this.raw!.propose(data);
    this.proposals.set(index, { client: command.client, seq: command.seq });
  }

  readIndex(context: number, key: string): void {
    this.raw!.readIndex(context);
    this.readKeys.set(context, key);
  }

  /** Takes a Ready if one is waiting and no sync is outstanding. */
  processReady(now: number, syncDelayTicks: number, random: Prng): void {
    const raw = this.raw;
    if (raw === undefined || this.inProgress !== undefined || !raw.hasReady()) return;
    const ready = raw.ready();
    if (ready.softState?.role === "leader") {
      this.invariants.leaderElected(raw.raft);
      if (!raw.raft.isVoter())
        throw new InvariantViolation(`node ${this.id} leads without being a voter`);
    }
    if (ready.softState !== undefined) {
      this.callbacks.event(`${this.id} is ${ready.softState.role} at term ${raw.raft.term}`);
    }
    this.invariants.entriesAppended(raw.raft, ready.entries);
    if (ready.hardState !== undefined) this.invariants.commitAdvanced(raw.raft);
    if (ready.snapshot !== undefined) this.disk.writeSnapshot(ready.snapshot);
    this.disk.writeEntries(ready.entries);
    if (ready.hardState !== undefined) this.disk.writeHardState(ready.hardState);
    if (this.sendBeforeSave) {
      for (const message of ready.messages)
        if (canSendBeforeSave(message)) this.callbacks.send(message);
    }
    this.inProgress = {
      ready,
      syncAt: ready.mustSync ? now + random.int(syncDelayTicks + 1) : now,
    };
    this.completeSync(now, random);
  }

  /** Finishes the outstanding Ready once its sync is due. */
  completeSync(now: number, random: Prng): void {
    const pending = this.inProgress;
    if (pending === undefined || pending.syncAt > now) return;
    if (!this.disk.sync()) {
      this.crash(random, "disk sync failed");
      return;
    }
    this.inProgress = undefined;
    const { ready } = pending;
    for (const message of ready.messages) {
      if (!this.sendBeforeSave || !canSendBeforeSave(message)) this.callbacks.send(message);
    }
    if (ready.snapshot !== undefined) {
      this.machine = RegisterMachine.fromSnapshot(ready.snapshot.data);
      this.conf = ready.snapshot.meta.conf;
      this.appliedIndex = ready.snapshot.meta.index;
      this.reads = this.reads.filter((read) => read.index > ready.snapshot!.meta.index);
    }
    for (const entry of ready.committedEntries) this.apply(entry);
    for (const state of ready.readStates) {
      const key = this.readKeys.get(state.context);
      if (key !== undefined) this.reads.push({ index: state.index, context: state.context, key });
    }
    this.raw!.advance();
    // A snapshot received while this Ready was out is ahead of what was applied.
    const core = this.raw!.raft;
    const installing = core.pendingSnapshot !== undefined;
    if (!installing && !sameConf(core.conf, this.conf)) {
      throw new InvariantViolation(
        `node ${this.id}: the core's configuration ${describeConfState(core.conf)} differs from confStateAfter's ${describeConfState(this.conf)}`,
      );
    }
    this.serveReads();
  }

  /** Snapshots the state machine at the applied index and compacts the log, keeping a tail. */
  snapshotAndCompact(tailEntries: number): void {
    const raw = this.raw;
    if (raw === undefined || this.inProgress !== undefined) return;
    const applied = raw.raft.log.applied;
    if (applied <= raw.raft.log.offset) return;
    const snapshot = raw.createSnapshot(applied, this.machine.snapshot());
    if (!sameConf(snapshot.meta.conf, this.conf)) {
      throw new InvariantViolation(
        `node ${this.id}: snapshot at ${applied} has configuration ${describeConfState(snapshot.meta.conf)}, applied state has ${describeConfState(this.conf)}`,
      );
    }
    this.disk.snapshot = snapshot;
    const compactTo = Math.max(
      raw.raft.log.offset,
      Math.min(applied - tailEntries, raw.raft.log.stable, this.disk.lastIndex()),
    );
    if (compactTo <= raw.raft.log.offset) return;
    this.disk.compact(compactTo, raw.raft.log.term(compactTo)!);
    raw.compact(compactTo);
    this.callbacks.event(`${this.id} snapshots at ${applied}, compacts to ${compactTo}`);
  }

  private apply(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new InvariantViolation(
        `node ${this.id} applies entry ${entry.index} after ${this.appliedIndex}: each entry once, in order`,
      );
    }
    this.appliedIndex = entry.index;
    this.invariants.entryApplied(this.id, entry);
    this.conf = confStateAfter(this.conf, entry);
    if (entry.type !== EntryType.normal || entry.data.length === 0) return;
    const command = decodeCommand(entry.data);
    const applied = this.machine.apply(command);
    const proposal = this.proposals.get(entry.index);
    if (proposal === undefined) return;
    this.proposals.delete(entry.index);
    if (proposal.client === command.client && proposal.seq === command.seq) {
      this.callbacks.proposalApplied(command, applied);
    }
  }

  private serveReads(): void {
    const applied = this.raw!.raft.log.applied;
    const waiting: typeof this.reads = [];
    for (const read of this.reads) {
      if (read.index > applied) waiting.push(read);
      else {
        this.readKeys.delete(read.context);
        this.callbacks.readServed(read.context, this.machine.read(read.key));
      }
    }
    this.reads = waiting;
  }
}

function sameConf(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly number[], y: readonly number[]) =>
    x.length === y.length && x.every((id, i) => id === y[i]);
  return (
    same(a.voters, b.voters) &&
    same(a.learners, b.learners) &&
    same(a.votersOutgoing, b.votersOutgoing)
  );
}
