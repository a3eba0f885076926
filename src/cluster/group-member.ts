// This node's member of one Raft group: the Raft core, the group's LSM and
// the memcached state machine over it (ARCHITECTURE.md decision 2: the Raft
// log is the only write-ahead log; the LSM runs without one and records, at
// each flush, the applied index its files cover).
//
// Invariants:
// - the group's log is never truncated past the LSM's flushed applied index
//   (recovery replays the log from there); a start that finds otherwise
//   refuses to run;
// - entries are applied one at a time, in log order;
// - a proposal is answered only by the apply of its own entry (same index
//   and term); if another entry lands at its index, it certainly failed.
//
// The node runtime (node-runtime.ts) drives the Ready cycle of every member
// through the node's shared log.

import { makeDirectoryDurably, writeFileDurably } from "../fs/durable-file.js";
import { directoryOf, type FileSystem, joinPath } from "../fs/file-system.js";
import { type BlockCache, LsmEngine } from "../lsm/index.js";
import { type ConfChange, confStateAfter } from "../raft/conf-change.js";
import type { RaftConfig } from "../raft/config.js";
import type { RecoveredGroup } from "../raft/log-storage/log-reader.js";
import type { RaftLogger } from "../raft/logger.js";
import { Prng } from "../raft/prng.js";
import type { RaftStartState } from "../raft/raft.js";
import { RawNode } from "../raft/raw-node.js";
import type {
  ConfState,
  Entry,
  GroupId,
  NodeId,
  ReadState,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "../raft/types.js";
import { EntryType } from "../raft/types.js";
import type { ItemRecord } from "../store/item.js";
import { type ApplyOutcome, type MachineEntry, StoreStateMachine } from "../store/state-machine.js";
import type { MaybePromise } from "../store/store.js";
import { assert } from "../util/assert.js";
import { crc32c, maskCrc, unmaskCrc } from "../util/crc32c.js";
import { ConfigError, MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { groupName } from "./group-ids.js";
import { LsmItemTable } from "./item-table.js";
import { decodeMembership, encodeMembership } from "./membership-codec.js";

export interface GroupMemberOptions {
  readonly groupId: GroupId;
  readonly nodeId: NodeId;
  /** The group's LSM directory. */
  readonly directory: string;
  readonly fs: FileSystem;
  /**
   * The group's voters when it is created with the cluster (ignored once
   * it has a log); empty for a replica that joins an existing group and
   * learns its configuration from the leader.
   */
  readonly bootstrapVoters: readonly NodeId[];
  /** What the node's shared log holds for the group, if anything. */
  readonly recovered: RecoveredGroup | undefined;
  readonly raft: Pick<RaftConfig, "electionTicks" | "heartbeatTicks" | "readMode">;
  readonly itemSizeMaxBytes: number;
  readonly blockCache: BlockCache;
  /** Memtable size: a flush happens at least this often, in bytes written. */
  readonly memtableBytes: number;
  readonly logger: Logger;
  /** Called when the LSM made more of the applied state durable. */
  readonly onFlushed: (member: GroupMember) => void;
}

interface ProposalWaiter {
  readonly term: number;
  /** Date.now() after which the proposer stops waiting (fate unknown); Infinity for never. */
  readonly deadline: number;
  readonly resolve: (outcome: ApplyOutcome | undefined) => void;
  readonly reject: (error: Error) => void;
}

interface ReadWaiter {
  /** Set once the leader confirmed it: serve when applied reaches it. */
  index: number | undefined;
  /** The leader's first entry of its term when the read started. */
  readonly termStart: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class GroupMember {
  private readonly proposals = new Map<number, ProposalWaiter>();
  /**
   * One timer for all proposal deadlines, due at the earliest (a timer per
   * proposal cost more than the rest of a proposal's bookkeeping).
   */
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryDue = Number.POSITIVE_INFINITY;
  /** The snapshot whose files stageSnapshot fetched into the staging directory. */
  private staged: { readonly index: number; readonly term: number } | undefined;
  private readonly reads = new Map<number, ReadWaiter>();
  private nextReadContext = 1;
  private applied: number;
  /** The configuration as of the applied index (the core's own may be ahead of it, never behind). */
  private appliedConf: ConfState;

  private constructor(
    readonly groupId: GroupId,
    readonly raw: RawNode,
    private lsm: LsmEngine,
    private stateMachine: StoreStateMachine,
    private readonly options: GroupMemberOptions,
  ) {
    this.applied = raw.status().applied;
    this.appliedConf = raw.status().conf;
  }

  get engine(): LsmEngine {
    return this.lsm;
  }

  get machine(): StoreStateMachine {
    return this.stateMachine;
  }

  static async open(options: GroupMemberOptions): Promise<GroupMember> {
    const { groupId, fs, directory } = options;
    await makeDirectoryDurably(fs, directoryOf(directory));
    let member: GroupMember | undefined;
    const engine = await openEngine(options, () => member);
    const flushed = Math.max(0, engine.flushedAppliedIndex);
    let machine: StoreStateMachine;
    let start: RaftStartState;
    try {
      machine = await openMachine(engine, options);
      const conf: ConfState =
        machine.membership === undefined
          ? startingConf(options.bootstrapVoters)
          : decodeMembership(machine.membership, directory);
      const installed = await readInstalledSnapshot(fs, directory);
      start = startState(options, flushed, conf, installed);
    } catch (error) {
      // A refused start leaves the directory closed (and unlocked) for the next attempt.
      await engine.close();
      throw error;
    }
    const raw = new RawNode(raftConfig(options), start);
    member = new GroupMember(groupId, raw, engine, machine, options);
    options.logger.info(
      { group: groupId, flushedApplied: flushed, ...raw.status().hardState },
      "group member started",
    );
    return member;
  }

  /**
   * Fetches the files of a snapshot the leader sent: `fetch` puts them,
   * durable, into a staging directory, where installSnapshot takes them.
   * The group's own data is not touched, so this runs beside the node's Raft
   * processing; only this group's Ready waits for it.
   */
  async stageSnapshot(
    meta: SnapshotMeta,
    fetch: (staging: string) => Promise<void>,
  ): Promise<void> {
    const staging = `${this.options.directory}.staging`;
    this.staged = undefined;
    await removeTree(this.options.fs, staging);
    await fetch(staging);
    this.staged = { index: meta.index, term: meta.term };
  }

  /** Whether stageSnapshot has the files of this snapshot ready. */
  hasStaged(meta: SnapshotMeta): boolean {
    return this.staged?.index === meta.index && this.staged.term === meta.term;
  }

  /**
   * Replaces the group's LSM with the staged files of `snapshot`. The caller
   * records the snapshot in the Raft log only after this (state machine
   * first: a crash in between leaves data the log can catch up from, never
   * a log that claims data the machine lacks).
   */
  async installSnapshot(snapshot: Snapshot): Promise<void> {
    const { fs, directory } = this.options;
    assert(
      this.hasStaged(snapshot.meta),
      `group ${groupName(this.groupId)}: snapshot ${snapshot.meta.index} installed before its files were staged`,
    );
    this.staged = undefined;
    const staging = `${directory}.staging`;
    const retired = `${directory}.retired`;
    await writeFileDurably(
      fs,
      joinPath(staging, installedSnapshotFile),
      encodeInstalled(snapshot.meta),
    );
    await this.lsm.close();
    await removeTree(fs, retired);
    await fs.rename(directory, retired);
    await fs.rename(staging, directory);
    await fs.syncDirectory(directoryOf(directory));
    await removeTree(fs, retired);
    this.lsm = await openEngine(this.options, () => this);
    this.stateMachine = await openMachine(this.lsm, this.options);
    this.applied = snapshot.meta.index;
    this.appliedConf = snapshot.meta.conf;
  }

  /** The group's configuration as of this member's applied index. */
  get conf(): ConfState {
    return this.appliedConf;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get flushedAppliedIndex(): number {
    return Math.max(0, this.engine.flushedAppliedIndex);
  }

  get isLeader(): boolean {
    return this.raw.raft.role === "leader";
  }

  get leaderId(): NodeId {
    return this.raw.raft.lead;
  }

  /**
   * Proposes an entry; resolves with the outcome of applying it here.
   * Rejects with ERR_NOT_LEADER when this member cannot take proposals
   * (nothing happened: safe to retry elsewhere), or ERR_NOT_LEADER after
   * another entry took its place (it certainly failed), or ERR_TIMEOUT once
   * `deadline` (a Date.now() time) passes without either (fate unknown: the
   * entry may still commit, and its outcome is then dropped).
   */
  propose(
    payload: Uint8Array,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<ApplyOutcome | undefined> {
    let index: number;
    try {
      index = this.raw.propose(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.waitForApply(index, deadline);
  }

  /**
   * Proposes a configuration change (one entry: changing two voters makes
   * it joint, and the leader leaves the joint configuration by itself);
   * resolves once it is applied here (on the leader).
   */
  async proposeConfChange(changes: readonly ConfChange[]): Promise<void> {
    await this.waitForApply(this.raw.proposeConfChange(changes));
  }

  /** The outcome of the entry proposed at `index` in this term, once applied. */
  private waitForApply(
    index: number,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<ApplyOutcome | undefined> {
    const term = this.raw.raft.term;
    if (deadline < this.expiryDue) this.armExpiry(deadline);
    return new Promise((resolve, reject) =>
      this.proposals.set(index, { term, deadline, resolve, reject }),
    );
  }

  private armExpiry(due: number): void {
    this.disarmExpiry();
    this.expiryDue = due;
    this.expiryTimer = setTimeout(() => this.expireProposals(), Math.max(0, due - Date.now()));
  }

  /** Fails the proposals whose deadline passed; sets the timer for the next deadline. */
  private expireProposals(): void {
    this.disarmExpiry();
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [index, waiter] of this.proposals) {
      if (waiter.deadline <= now) {
        this.proposals.delete(index);
        waiter.reject(noAnswerInTime(this.groupId));
      } else if (waiter.deadline < next) {
        next = waiter.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armExpiry(next);
  }

  private disarmExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryDue = Number.POSITIVE_INFINITY;
  }

  /**
   * Resolves once a linearizable read may be served from the applied state.
   * The leader first confirms it still leads (ReadIndex; at once with one
   * voter or a lease). It then need not wait for the whole read index to be
   * applied: every write a client was told about is applied on the leader
   * that answered it, so the applied state answers correctly as soon as it
   * covers this leader's first entry (everything earlier leaders answered).
   * Undefined when the read may be served now (one voter or a lease, and
   * that entry applied): nothing to wait for, nothing for the runtime to do.
   */
  readBarrier(): Promise<void> | undefined {
    const context = this.nextReadContext++;
    let confirmed: number | undefined;
    try {
      confirmed = this.raw.readIndexNow(context);
    } catch (error) {
      return Promise.reject(error);
    }
    const termStart = this.raw.termStartIndex();
    const index = servedFrom(confirmed, termStart);
    if (index !== undefined && index <= this.applied) return undefined;
    return new Promise((resolve, reject) =>
      this.reads.set(context, { index, termStart, resolve, reject }),
    );
  }

  /**
   * Whether readBarrier() would return undefined now. It registers no read,
   * so the hot read path can ask first and take the barrier only when this
   * says no.
   */
  readableNow(): boolean {
    const index = servedFrom(this.raw.immediateReadIndex(), this.raw.termStartIndex());
    return index !== undefined && index <= this.applied;
  }

  /** From the applied state; a value, not a promise, when memory holds what it needs. */
  read(key: string, nowSeconds: number): MaybePromise<ItemRecord | undefined> {
    return this.machine.read(key, nowSeconds);
  }

  /**
   * Applies committed entries in order and answers their proposals. Runs of
   * entries reach the state machine together (one table write each).
   */
  async applyCommitted(entries: readonly Entry[]): Promise<void> {
    for (let start = 0; start < entries.length; start += applyRunEntriesMax) {
      const end = Math.min(start + applyRunEntriesMax, entries.length);
      const machineEntries: MachineEntry[] = [];
      let conf = this.appliedConf;
      for (let i = start; i < end; i++) {
        const entry = entries[i]!;
        if (entry.type === EntryType.confChange) {
          // Stored with the data, so a restart from the flushed state resumes
          // with the configuration of that state.
          conf = confStateAfter(conf, entry);
          machineEntries.push({ index: entry.index, membership: encodeMembership(conf) });
        } else {
          machineEntries.push({ index: entry.index, payload: entry.data });
        }
      }
      const outcomes = await this.machine.applyAll(machineEntries);
      this.appliedConf = conf;
      this.applied = entries[end - 1]!.index;
      for (let i = start; i < end; i++) this.settleProposal(entries[i]!, outcomes[i - start]);
    }
    this.serveReads();
  }

  private settleProposal(entry: Entry, outcome: ApplyOutcome | undefined): void {
    const waiter = this.proposals.get(entry.index);
    if (waiter === undefined) return;
    this.proposals.delete(entry.index);
    if (waiter.term === entry.term) waiter.resolve(outcome);
    else waiter.reject(replaced(this.groupId, entry.index));
  }

  /** Takes the leader's read confirmations of a Ready. */
  confirmReads(readStates: readonly ReadState[]): void {
    for (const { index, context } of readStates) {
      const waiter = this.reads.get(context);
      if (waiter !== undefined) waiter.index = Math.min(index, waiter.termStart);
    }
    this.serveReads();
  }

  /**
   * After a role change: reads started as leader can no longer be confirmed.
   * Proposals stay: their entries may still commit under the new leader, and
   * the apply of their index settles them either way.
   */
  roleChanged(soft: SoftState): void {
    if (soft.role === "leader") return;
    for (const [context, waiter] of this.reads) {
      this.reads.delete(context);
      waiter.reject(
        new MemraftError(
          "ERR_NOT_LEADER",
          `group ${this.groupId}: leadership lost before the read`,
          {
            groupId: this.groupId,
            lead: soft.lead,
          },
        ),
      );
    }
  }

  /** Fails every waiter (the node stops or the log failed). */
  fail(error: Error): void {
    this.disarmExpiry();
    for (const waiter of this.proposals.values()) waiter.reject(error);
    for (const waiter of this.reads.values()) waiter.reject(error);
    this.proposals.clear();
    this.reads.clear();
  }

  /** Number of entries held in the log above the flushed state. */
  get unflushedEntries(): number {
    return this.applied - this.flushedAppliedIndex;
  }

  async close(): Promise<void> {
    this.fail(new MemraftError("ERR_CLOSED", `group ${this.groupId} is closing`));
    await this.engine.close();
  }

  private serveReads(): void {
    for (const [context, waiter] of this.reads) {
      if (waiter.index === undefined || waiter.index > this.applied) continue;
      this.reads.delete(context);
      waiter.resolve();
    }
  }
}

/** The configuration a member starts from before anything of the group is applied. */
function startingConf(bootstrapVoters: readonly NodeId[]): ConfState {
  return {
    voters: [...new Set(bootstrapVoters)].sort((a, b) => a - b),
    learners: [],
    votersOutgoing: [],
  };
}

function replaced(groupId: GroupId, index: number): MemraftError {
  return new MemraftError(
    "ERR_NOT_LEADER",
    `group ${groupId}: the entry at ${index} is another leader's; the proposal was not applied`,
    { groupId, index },
  );
}

function raftConfig(options: GroupMemberOptions): RaftConfig {
  const logger = options.logger.child({ group: options.groupId });
  const raftLogger: RaftLogger = { info: (line) => logger.debug({ raft: line }) };
  return {
    ...options.raft,
    id: options.nodeId,
    groupId: options.groupId,
    // Election jitter only needs to differ between nodes and runs.
    random: new Prng((options.nodeId * 2654435761 + Date.now()) >>> 0),
    logger: raftLogger,
  };
}

/**
 * Where the member starts, by this table (F: the index the LSM's files cover;
 * the log holds entries (offset, last]):
 *
 *   log      | F            | start
 *   ---------+--------------+---------------------------------------------
 *   none     | 0            | a new member: a founding one from the group's
 *            |              | first entry, a joining one from nothing
 *   none     | > 0          | refuse: data without the log that wrote it
 *   any      | < offset     | refuse: the entries in between are lost
 *   any      | > last       | a snapshot install was cut short: start from
 *            |              | the installed snapshot (its SNAPSHOT record)
 *   any      | in range     | the log (committed at least to F); entries
 *            |              | after F are applied again
 */
function startState(
  options: GroupMemberOptions,
  flushed: number,
  conf: ConfState,
  installed: SnapshotMeta | undefined,
): RaftStartState {
  const { groupId, directory } = options;
  const recovered = options.recovered;
  if (recovered === undefined) {
    if (flushed > 0) {
      throw new ConfigError(
        `group ${groupId}: ${directory} holds data up to log index ${flushed}, but the raft log has no record of the group; refusing to start`,
        { groupId, flushed },
      );
    }
    return conf.voters.length > 0 ? RawNode.bootstrapState(conf) : RawNode.joiningState();
  }
  if (recovered.offset > flushed) {
    throw new ConfigError(
      `group ${groupId}: the raft log was truncated to index ${recovered.offset}, but the data in ${directory} only covers index ${flushed}; entries in between are lost, refusing to start`,
      { groupId, flushed, truncated: recovered.offset },
    );
  }
  const last = recovered.offset + recovered.entries.length;
  if (flushed > last) {
    if (installed === undefined || installed.index !== flushed) {
      throw new ConfigError(
        `group ${groupId}: the data in ${directory} covers index ${flushed}, beyond the raft log's last entry ${last}, with no snapshot record to explain it; refusing to start`,
        { groupId, flushed, last },
      );
    }
    return {
      hardState: {
        ...recovered.hardState,
        commit: Math.max(recovered.hardState.commit, installed.index),
      },
      offset: installed.index,
      offsetTerm: installed.term,
      entries: [],
      applied: installed.index,
      conf: installed.conf,
    };
  }
  return {
    // Entries are applied once committed, possibly before the hard state
    // that records the commit is synced (node-runtime.ts applies durable
    // committed entries while the next batch is written): data covering F
    // proves entries up to F were committed.
    hardState: { ...recovered.hardState, commit: Math.max(recovered.hardState.commit, flushed) },
    offset: recovered.offset,
    offsetTerm: recovered.offsetTerm,
    entries: recovered.entries,
    applied: flushed,
    conf,
  };
}

/**
 * Entries applied as one table write at most: a long catch-up becomes many
 * memtable writes of moderate size, so the engine can freeze and flush its
 * memtable between them.
 */
const applyRunEntriesMax = 512;

/** The record of the snapshot a group directory was installed from, kept beside the LSM's files. */
const installedSnapshotFile = "SNAPSHOT";
// Version 1 had no outgoing voters (no joint configurations).
const installedSnapshotVersion = 2;

//   u8 version, u64 index, u64 term, u32 voter count, u32 voters..., u32 learner count, u32 learners...,
//   u32 outgoing voter count, u32 outgoing voters..., u32 masked crc32c of all before
function encodeInstalled(meta: SnapshotMeta): Buffer {
  const { voters, learners, votersOutgoing } = meta.conf;
  const body = Buffer.alloc(
    1 + 16 + 12 + 4 * (voters.length + learners.length + votersOutgoing.length),
  );
  body[0] = installedSnapshotVersion;
  body.writeBigUInt64LE(BigInt(meta.index), 1);
  body.writeBigUInt64LE(BigInt(meta.term), 9);
  let at = body.writeUInt32LE(voters.length, 17);
  for (const id of voters) at = body.writeUInt32LE(id, at);
  at = body.writeUInt32LE(learners.length, at);
  for (const id of learners) at = body.writeUInt32LE(id, at);
  at = body.writeUInt32LE(votersOutgoing.length, at);
  for (const id of votersOutgoing) at = body.writeUInt32LE(id, at);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(maskCrc(crc32c(body)));
  return Buffer.concat([body, crc]);
}

async function readInstalledSnapshot(
  fs: FileSystem,
  directory: string,
): Promise<SnapshotMeta | undefined> {
  const path = joinPath(directory, installedSnapshotFile);
  if (!(await fs.exists(path))) return undefined;
  const bytes = await fs.readFile(path);
  const corrupt = (reason: string) =>
    new MemraftError("ERR_CORRUPTION", `${path}: ${reason}`, { file: path, offset: 0 });
  if (bytes.length < 33 || bytes[0] !== installedSnapshotVersion)
    throw corrupt("not a snapshot record");
  const body = bytes.subarray(0, bytes.length - 4);
  if (unmaskCrc(bytes.readUInt32LE(body.length)) !== crc32c(body))
    throw corrupt("checksum mismatch");
  const index = Number(body.readBigUInt64LE(1));
  const term = Number(body.readBigUInt64LE(9));
  let at = 17;
  const readIds = () => {
    const count = body.readUInt32LE(at);
    at += 4;
    const ids: number[] = [];
    for (let i = 0; i < count; i++, at += 4) ids.push(body.readUInt32LE(at));
    return ids;
  };
  const voters = readIds();
  const learners = readIds();
  const votersOutgoing = readIds();
  return { index, term, conf: { voters, learners, votersOutgoing } };
}

async function openEngine(
  options: GroupMemberOptions,
  member: () => GroupMember | undefined,
): Promise<LsmEngine> {
  return LsmEngine.open(options.directory, {
    fileSystem: options.fs,
    wal: false,
    blockCache: options.blockCache,
    memtableBytes: options.memtableBytes,
    logger: options.logger.child({ group: options.groupId }),
    compactionFilter: {
      moduleUrl: new URL("../store/compaction-filter.js", import.meta.url).href,
      exportName: "memcachedFilter",
      params: () => {
        const flush = member()?.machine.flushState;
        return {
          nowSeconds: Math.floor(Date.now() / 1000),
          flushCasBelow: flush?.casBelow ?? 0n,
          flushDeadline: flush?.deadline ?? 0,
        };
      },
    },
    onFlushed: () => {
      const current = member();
      if (current !== undefined) options.onFlushed(current);
    },
  });
}

function openMachine(engine: LsmEngine, options: GroupMemberOptions): Promise<StoreStateMachine> {
  return StoreStateMachine.open(new LsmItemTable(engine), {
    itemSizeMaxBytes: options.itemSizeMaxBytes,
    casGeneration: 0,
  });
}

/**
 * The applied index a confirmed read needs (readBarrier): the confirmed
 * index, capped at the leader's first entry of its term.
 */
function servedFrom(confirmed: number | undefined, termStart: number): number | undefined {
  return confirmed === undefined ? undefined : Math.min(confirmed, termStart);
}

/** ERR_TIMEOUT for a command whose outcome did not arrive by its deadline (fate unknown). */
export function noAnswerInTime(groupId: GroupId): MemraftError {
  return new MemraftError("ERR_TIMEOUT", `group ${groupName(groupId)}: no answer in time`, {
    groupId,
  });
}

/** Removes a directory of files (a staging or retired copy), if it exists. */
export async function removeTree(fs: FileSystem, directory: string): Promise<void> {
  if (!(await fs.exists(directory))) return;
  for (const name of await fs.list(directory)) await fs.remove(joinPath(directory, name));
  await fs.removeDirectory(directory);
}

export function groupDirectory(dataDir: string, groupId: GroupId): string {
  return joinPath(joinPath(dataDir, "groups"), String(groupId));
}
