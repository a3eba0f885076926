// One node's Raft machinery on real time, disk and network: the shared log
// (one fsync per batch for every group), the transport to the other nodes,
// and the group members. A timer ticks the members that are awake; a
// processing pass takes every member's Ready and follows the Ready contract
// (raw-node.ts):
//   1. save entries and hard state of all of them under one fsync (a
//      leader's appends and heartbeats leave before it, canSendBeforeSave);
//   2. send their other messages;
//   3. apply committed entries (groups in parallel, each in log order) and
//      serve confirmed reads;
//   4. advance.
// A follower's Ready that installs a snapshot is taken only once the
// snapshot's files are fetched (snapshotStaged): the transfer runs beside
// the passes, so the node's other groups go on meanwhile.
// A failed log write stops the node: after an fsync error the page cache is
// unknown, so it must restart from what is durable.
//
// Log cleanup: once a member's LSM has flushed enough entries, the runtime
// takes a checkpoint of it (the Raft snapshot image), records it with the
// Raft core and truncates the log up to it, keeping a tail for slow
// followers. A member that holds back cleanup while idle is made to flush.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import { BlockCache } from "../lsm/index.js";
import { RaftLogStorage, readyWrite } from "../raft/log-storage/log-storage.js";
import { tickMembers } from "../raft/quiet-ticks.js";
import { canSendBeforeSave, type RawNode } from "../raft/raw-node.js";
import { type PeerAddress, TcpTransport } from "../raft/transport/tcp-transport.js";
import {
  type Entry,
  entryBytes,
  type GroupId,
  type Message,
  type NodeId,
  type Snapshot,
} from "../raft/types.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { GroupMember, groupDirectory, removeTree } from "./group-member.js";
import { type HostedGroup, HostedGroups } from "./hosted-groups.js";
import { PeerRpc } from "./peer-rpc.js";
import {
  type CheckpointSource,
  decodeDescriptor,
  encodeDescriptor,
  fetchSnapshot,
  serveSnapshots,
} from "./snapshot-transfer.js";

export interface RuntimeLimits {
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Flushed entries in the log before it is truncated. */
  readonly compactEntriesMin: number;
  /** ...or this many bytes of them (large values fill memory and disk long before the count). */
  readonly compactBytesMin: number;
  /** Entries kept below the truncation point, for followers a little behind. */
  readonly logTailEntries: number;
  /** At most this many bytes of entries kept below the truncation point. */
  readonly logTailBytes: number;
  /** A member with unflushed entries this long is made to flush, so the log can be cleaned. */
  readonly idleFlushMs: number;
  /** How often a leader compares its state hash with its followers'. */
  readonly hashCheckMs: number;
}

export const defaultRuntimeLimits: RuntimeLimits = {
  tickMs: 50,
  electionTicks: 20,
  heartbeatTicks: 2,
  compactEntriesMin: 20_000,
  compactBytesMin: 64 * 1024 * 1024,
  logTailEntries: 5_000,
  logTailBytes: 16 * 1024 * 1024,
  idleFlushMs: 30_000,
  hashCheckMs: 10_000,
};

/** Peer request: a member's latest (applied index, state hash). */
const stateHashMethod = 5;
/** Pause before fetching a snapshot again after a fetch failed. */
const snapshotRetryMs = 1000;

export interface NodeRuntimeOptions {
  readonly nodeId: NodeId;
  readonly dataDir: string;
  readonly fs: FileSystem;
  /** Every node's peer address, this node's included; empty for a node on its own. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly itemSizeMaxBytes: number;
  readonly readMode: "safe" | "lease";
  readonly cacheBytes: number;
  readonly memtableBytes: number;
  readonly limits: RuntimeLimits;
  readonly logger: Logger;
}

export class NodeRuntime implements CheckpointSource {
  readonly members = new Map<GroupId, GroupMember>();
  readonly rpc: PeerRpc;
  private timer: NodeJS.Timeout | undefined;
  private processing = false;
  private again = false;
  private failure: Error | undefined;
  private readonly lastFlushAt = new Map<GroupId, number>();
  private idleSweepAt = 0;
  /** Per group led here: the applied index at which every follower's state hash was compared. */
  private readonly hashesComparedAt = new Map<GroupId, number>();
  /** Groups taking a checkpoint now. */
  private readonly checkpointing = new Set<GroupId>();
  /** The checkpoints being taken: stop() waits for them. */
  private readonly checkpointsInFlight = new Set<Promise<void>>();
  /** Checkpoints taken, waiting to become the group's snapshot between Ready cycles. */
  private readonly checkpointsTaken: {
    member: GroupMember;
    index: number;
    directory: string;
  }[] = [];
  /** Each group's current snapshot checkpoint, kept for followers that need it. */
  private readonly snapshots = new Map<GroupId, { index: number; directory: string }>();
  /** The checkpoint before the current one, kept while followers may still be fetching it. */
  private readonly previousSnapshots = new Map<GroupId, { index: number; directory: string }>();

  private readonly blockCache: BlockCache;

  private constructor(
    private readonly options: NodeRuntimeOptions,
    readonly storage: RaftLogStorage,
    private readonly hosted: HostedGroups,
    private transport: TcpTransport | undefined,
    private readonly logger: Logger,
  ) {
    this.blockCache = new BlockCache(options.cacheBytes);
    this.rpc = new PeerRpc({
      selfId: options.nodeId,
      link: {
        sendApplication: (to, payload) => this.transport?.sendApplication(to, payload) ?? false,
        connected: (to) => this.transport?.connected(to) ?? false,
      },
      logger,
    });
  }

  static async start(options: NodeRuntimeOptions): Promise<NodeRuntime> {
    const logger = options.logger.child({ component: "raft" });
    const storage = await RaftLogStorage.open(options.fs, joinPath(options.dataDir, "raft-log"));
    if (storage.recovery.torn !== undefined) {
      logger.warn({ torn: storage.recovery.torn }, "raft log: dropped a torn tail left by a crash");
    }
    const hosted = await HostedGroups.load(options.fs, options.dataDir);
    const runtime = new NodeRuntime(options, storage, hosted, undefined, logger);
    // Checkpoints of an earlier run are stale: this run takes its own.
    await removeTreeOfTrees(options.fs, runtime.snapshotsDirectory);
    for (const groupId of hosted.dropping()) await runtime.finishDrop(groupId);
    serveSnapshots(runtime.rpc, options.fs, runtime);
    for (const group of hosted.list()) await runtime.openMember(group);
    const listen = options.peers.get(options.nodeId);
    if (listen !== undefined) {
      const transport = new TcpTransport({
        nodeId: options.nodeId,
        listen,
        peers: options.peers,
        deliver: (messages) => runtime.receive(messages),
        deliverApplication: (from, payloads) => runtime.rpc.receive(from, payloads),
        peerLost: (peer) => runtime.rpc.peerLost(peer),
        logger,
        // As often as heartbeats: the failure detector waits an election timeout.
        keepaliveMs: options.limits.tickMs * options.limits.heartbeatTicks,
      });
      runtime.transport = transport;
      await transport.start();
    }
    for (const member of runtime.members.values()) runtime.started(member);
    runtime.rpc.handle(stateHashMethod, async (_from, body) => {
      const { index, hash } = runtime.member(body.readUInt32LE(0)).machine.latestHash;
      const reply = Buffer.alloc(16);
      reply.writeBigUInt64LE(BigInt(index), 0);
      reply.writeBigUInt64LE(hash, 8);
      return reply;
    });
    runtime.timer = setInterval(() => runtime.tick(), options.limits.tickMs);
    // The first comparison soon after start, then periodically.
    const firstCheck = setTimeout(
      () => void runtime.checkStateHashes(),
      20 * options.limits.electionTicks * options.limits.tickMs,
    );
    firstCheck.unref();
    runtime.hashTimer = setInterval(
      () => void runtime.checkStateHashes(),
      options.limits.hashCheckMs,
    );
    runtime.hashTimer.unref();
    runtime.schedule();
    return runtime;
  }

  /** Follows a change of the cluster's nodes (see TcpTransport.setPeers). */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    this.transport?.setPeers(peers);
  }

  /** Whether this node has never hosted a group (a new node, or one not yet part of a cluster). */
  get isBlank(): boolean {
    return this.hosted.isBlank;
  }

  /**
   * Starts hosting a group: recorded first, then its member opened. With
   * bootstrap voters the group is being created with the cluster; without,
   * the member joins an existing group and waits for its leader.
   */
  async hostGroup(groupId: GroupId, bootstrapVoters: readonly NodeId[]): Promise<void> {
    await this.hostGroups([{ groupId, bootstrapVoters }]);
  }

  /** hostGroup for several groups at once: one durable record, members opened side by side. */
  async hostGroups(groups: readonly HostedGroup[]): Promise<void> {
    if (groups.every((group) => this.members.has(group.groupId))) return;
    await this.betweenCycles(async () => {
      const fresh = groups
        .filter((group) => !this.members.has(group.groupId))
        .map((group) => ({ groupId: group.groupId, bootstrapVoters: [...group.bootstrapVoters] }));
      await this.hosted.add(fresh);
      const members = await Promise.all(fresh.map((group) => this.openMember(group)));
      for (const member of members) this.started(member);
    });
  }

  /**
   * Stops hosting a group this node is no longer a member of: its member
   * closes, the shared log forgets it, its data and checkpoints go. Marked
   * first, so a crash midway finishes the drop at the next start.
   */
  async dropGroup(groupId: GroupId): Promise<void> {
    const member = this.members.get(groupId);
    if (member === undefined && !this.hosted.dropping().includes(groupId)) return;
    await this.betweenCycles(async () => {
      await this.hosted.markDropping(groupId);
      if (member !== undefined) {
        this.members.delete(groupId);
        this.lastFlushAt.delete(groupId);
        await member.close();
      }
      await this.finishDrop(groupId);
    });
    this.logger.info({ group: groupId }, "group dropped from this node");
  }

  /**
   * Runs `change` (to the set of members) while no Ready cycle runs, so a
   * cycle never saves or applies for a member that is coming or going.
   */
  private async betweenCycles<T>(change: () => Promise<T>): Promise<T> {
    while (this.processing) await new Promise((resolve) => setImmediate(resolve));
    this.processing = true;
    try {
      return await change();
    } finally {
      this.processing = false;
      this.schedule();
    }
  }

  private async finishDrop(groupId: GroupId): Promise<void> {
    await this.storage.removeGroup(groupId);
    this.hashesComparedAt.delete(groupId);
    for (const held of [this.snapshots.get(groupId), this.previousSnapshots.get(groupId)]) {
      if (held !== undefined) await removeTree(this.options.fs, held.directory);
    }
    this.snapshots.delete(groupId);
    this.previousSnapshots.delete(groupId);
    const directory = groupDirectory(this.options.dataDir, groupId);
    for (const leftover of [directory, `${directory}.staging`, `${directory}.retired`]) {
      await removeTree(this.options.fs, leftover);
    }
    await this.hosted.dropped(groupId);
  }

  private async openMember(group: HostedGroup): Promise<GroupMember> {
    const { options } = this;
    const member = await GroupMember.open({
      groupId: group.groupId,
      nodeId: options.nodeId,
      directory: groupDirectory(options.dataDir, group.groupId),
      fs: options.fs,
      bootstrapVoters: group.bootstrapVoters,
      recovered: this.storage.takeRecovered(group.groupId),
      raft: {
        electionTicks: options.limits.electionTicks,
        heartbeatTicks: options.limits.heartbeatTicks,
        readMode: options.readMode,
      },
      itemSizeMaxBytes: options.itemSizeMaxBytes,
      blockCache: this.blockCache,
      memtableBytes: options.memtableBytes,
      logger: options.logger,
      onFlushed: (flushed) => this.flushed(flushed),
    });
    this.members.set(group.groupId, member);
    return member;
  }

  /** What a member needs once it is open and the network is up. */
  private started(member: GroupMember): void {
    // A group with this node as its only voter elects it at once.
    const { voters } = member.raw.status().conf;
    if (voters.length === 1 && voters[0] === this.options.nodeId && !member.isLeader)
      member.raw.campaign();
    // A compacted log needs a snapshot for followers behind it.
    if (member.raw.status().firstIndex > 1) this.takeCheckpoint(member);
  }

  /** The checkpoint a follower asks for: the current one, or the one before it. */
  checkpointDirectory(groupId: GroupId, index: number): string | undefined {
    for (const held of [this.snapshots.get(groupId), this.previousSnapshots.get(groupId)]) {
      if (held?.index === index) return held.directory;
    }
    return undefined;
  }

  member(groupId: GroupId): GroupMember {
    const member = this.members.get(groupId);
    if (member === undefined) {
      throw new MemraftError("ERR_CONFIG", `group ${groupId} is not hosted on this node`, {
        groupId,
      });
    }
    return member;
  }

  /** Steps the work a caller started on a member (a proposal, a read). */
  schedule(): void {
    // A late timer or fetch must not start a pass over members being closed.
    if (this.stopping) return;
    if (this.processing) {
      this.again = true;
      return;
    }
    this.processing = true;
    setImmediate(() => void this.process());
  }

  /** Stops ticking and the network, then closes every member and the log. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearInterval(this.hashTimer);
    this.rpc.close();
    await this.transport?.close();
    // A checkpoint finishing later would run a cleanup pass (removing an
    // older checkpoint) after stop, racing with a restart on the directory.
    await Promise.all(this.checkpointsInFlight);
    await Promise.all(this.snapshotFetches.values());
    while (this.processing) await new Promise((resolve) => setImmediate(resolve));
    for (const member of this.members.values()) await member.close();
    await this.storage.close();
  }

  /** The applied index at which this leader last compared every follower's state hash with its own. */
  hashesComparedIndex(groupId: GroupId): number | undefined {
    return this.hashesComparedAt.get(groupId);
  }

  /**
   * For each group this node leads: asks each follower for its latest state
   * hash and compares it with this node's at the same index. Replicas at the
   * same applied index must hold the same state; a difference means a bug or
   * corruption, and is logged as an error and counted.
   */
  async checkStateHashes(): Promise<void> {
    for (const member of this.members.values()) {
      if (!member.isLeader) continue;
      // An idle group compared at its current index has nothing new to compare.
      const applied = member.machine.latestHash.index;
      if (this.hashesComparedAt.get(member.groupId) === applied) continue;
      let everyFollowerAtApplied = true;
      const body = Buffer.alloc(4);
      body.writeUInt32LE(member.groupId);
      for (const follower of member.raw.status().conf.voters) {
        if (follower === this.options.nodeId) continue;
        let reply: Buffer;
        try {
          reply = await this.rpc.call(follower, stateHashMethod, body, 2000);
        } catch (error) {
          // A follower that is down is the failure detector's business, not this check's.
          this.logger.debug(
            { group: member.groupId, follower, err: error },
            "state hash check skipped",
          );
          everyFollowerAtApplied = false;
          continue;
        }
        const index = Number(reply.readBigUInt64LE(0));
        const theirs = reply.readBigUInt64LE(8);
        if (index !== applied) everyFollowerAtApplied = false;
        const ours = member.machine.hashAt(index);
        if (ours === undefined) continue;
        this.stateHashChecks++;
        if (ours === theirs) continue;
        this.stateHashMismatches++;
        this.logger.error(
          {
            group: member.groupId,
            follower,
            index,
            ours: ours.toString(16),
            theirs: theirs.toString(16),
          },
          "state hash mismatch: a replica diverged",
        );
      }
      if (everyFollowerAtApplied) this.hashesComparedAt.set(member.groupId, applied);
    }
  }

  private tick(): void {
    const { tickMs, electionTicks } = this.options.limits;
    const ticked = tickMembers(this.members.values(), this.transport, electionTicks * tickMs);
    this.requestIdleFlushes();
    if (ticked > 0) this.schedule();
  }

  private receive(messages: Message[]): void {
    for (const message of messages) this.members.get(message.groupId)?.raw.step(message);
    this.schedule();
  }

  private async process(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.cleanLogs();
        if (!(await this.cycle())) break;
      } while (this.again || this.anyReady());
    } catch (error) {
      this.stopOnFailure(error as Error);
      return;
    } finally {
      this.processing = false;
    }
    if (this.again) this.schedule();
  }

  private anyReady(): boolean {
    for (const member of this.members.values()) if (member.raw.hasReady()) return true;
    return false;
  }

  /**
   * One pass of the Ready contract over every member with a Ready (see the
   * file comment). False if no member had one.
   */
  private async cycle(): Promise<boolean> {
    const batch: { member: GroupMember; ready: ReturnType<RawNode["ready"]> }[] = [];
    const saves: Promise<void>[] = [];
    for (const member of this.members.values()) {
      if (!member.raw.hasReady() || !this.snapshotStaged(member)) continue;
      const ready = member.raw.ready();
      batch.push({ member, ready });
      // A leader's appends leave now: followers write while this node does.
      for (const message of ready.messages)
        if (canSendBeforeSave(message)) this.transport?.send(message);
      if (ready.snapshot !== undefined) await this.install(member, ready.snapshot);
      const write = readyWrite(ready);
      if (write !== undefined) saves.push(this.storage.save(member.groupId, write));
    }
    if (batch.length === 0) return false;
    // Committed entries already durable here (saved by earlier cycles)
    // are applied while this cycle's entries are written: a client's
    // write then waits for one fsync, not for the next batch's too.
    const early = batch.map(({ member, ready }) => {
      if (ready.softState !== undefined) member.roleChanged(ready.softState);
      const prefix = durablePrefix(ready);
      const applied = member.applyCommitted(prefix);
      // Awaited below, where a failure surfaces; this only keeps one
      // that fails while the saves are awaited from going unhandled.
      applied.catch(() => undefined);
      return { applied, count: prefix.length };
    });
    await Promise.all(saves);
    for (const { ready } of batch)
      for (const message of ready.messages)
        if (!canSendBeforeSave(message)) this.transport?.send(message);
    await Promise.all(
      batch.map(async ({ member, ready }, index) => {
        const { applied, count } = early[index]!;
        await applied;
        await member.applyCommitted(ready.committedEntries.slice(count));
        member.confirmReads(ready.readStates);
        member.raw.advance();
      }),
    );
    return true;
  }

  private stopOnFailure(error: Error): void {
    this.failure = error;
    clearInterval(this.timer);
    this.logger.error(
      { err: error },
      "raft processing failed; this node stops serving until restarted",
    );
    for (const member of this.members.values()) member.fail(error);
  }

  /** Why the node cannot serve, if it cannot. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * After a flush: once enough flushed entries sit in the log, take a
   * checkpoint of the LSM (hard links: cheap), to become the snapshot below
   * which the log is cut.
   */
  private flushed(member: GroupMember): void {
    this.lastFlushAt.set(member.groupId, Date.now());
    const { compactEntriesMin, compactBytesMin } = this.options.limits;
    const first = member.raw.status().firstIndex;
    const flushed = member.flushedAppliedIndex;
    if (
      flushed - first < compactEntriesMin &&
      entryBytesBetween(member, first, flushed, compactBytesMin) < compactBytesMin
    )
      return;
    this.takeCheckpoint(member);
  }

  private takeCheckpoint(member: GroupMember): void {
    const groupId = member.groupId;
    if (this.checkpointing.has(groupId) || this.failure !== undefined) return;
    this.checkpointing.add(groupId);
    const directory = joinPath(
      this.snapshotsDirectory,
      `${groupId}-${Date.now()}-${++this.checkpointSequence}`,
    );
    const taking: Promise<void> = member.engine
      .checkpoint(directory)
      .then(({ appliedIndex }) => {
        this.checkpointsTaken.push({ member, index: appliedIndex, directory });
        this.schedule();
      })
      .catch((error: unknown) =>
        this.logger.warn({ group: groupId, err: error }, "checkpoint failed"),
      )
      .finally(() => {
        this.checkpointing.delete(groupId);
        this.checkpointsInFlight.delete(taking);
      });
    this.checkpointsInFlight.add(taking);
  }

  /**
   * A snapshot from the leader, its files staged: replace the group's data
   * with them, and keep a checkpoint of them to serve in turn.
   */
  private async install(member: GroupMember, snapshot: Snapshot): Promise<void> {
    this.logger.info(
      { group: member.groupId, index: snapshot.meta.index },
      "installing a snapshot",
    );
    await member.installSnapshot(snapshot);
    const directory = joinPath(
      this.snapshotsDirectory,
      `${member.groupId}-${Date.now()}-${++this.checkpointSequence}`,
    );
    const { appliedIndex } = await member.engine.checkpoint(directory);
    await this.retireSnapshot(member.groupId, { index: appliedIndex, directory });
    this.snapshotsInstalled++;
  }

  /**
   * Whether a member's Ready may be taken now: no snapshot is pending, or
   * its files are staged. Otherwise starts fetching them (once at a time,
   * and not before `snapshotRetryMs` after a failed fetch) and says no: the
   * transfer goes on beside the other groups' Ready passes, not inside one.
   */
  private snapshotStaged(member: GroupMember): boolean {
    const pending = member.raw.raft.pendingSnapshot;
    if (pending === undefined || member.hasStaged(pending.meta)) return true;
    const groupId = member.groupId;
    if (this.snapshotFetches.has(groupId)) return false;
    if (Date.now() < (this.snapshotRetryAt.get(groupId) ?? 0)) return false;
    const descriptor = decodeDescriptor(pending.data);
    const from = member.leaderId;
    this.logger.info({ group: groupId, index: pending.meta.index, from }, "fetching a snapshot");
    const fetching = member
      .stageSnapshot(pending.meta, (staging) =>
        fetchSnapshot(this.rpc, this.options.fs, from, descriptor, staging),
      )
      .then(
        () => {
          this.snapshotRetryAt.delete(groupId);
        },
        (error: unknown) => {
          // The leader may have gone, or the link failed: the group waits
          // and asks again (the Raft core keeps the snapshot pending, or
          // takes a newer one from a new leader); the node's other groups
          // are not held up.
          this.logger.warn(
            { group: groupId, index: pending.meta.index, from, err: error },
            "snapshot fetch failed; trying again",
          );
          this.snapshotRetryAt.set(groupId, Date.now() + snapshotRetryMs);
          setTimeout(() => this.schedule(), snapshotRetryMs).unref();
        },
      )
      .finally(() => {
        this.snapshotFetches.delete(groupId);
        this.schedule();
      });
    this.snapshotFetches.set(groupId, fetching);
    return false;
  }

  /** Makes `next` the group's served checkpoint; the one before it stays, older ones go. */
  private async retireSnapshot(
    groupId: GroupId,
    next: { index: number; directory: string },
  ): Promise<void> {
    const older = this.previousSnapshots.get(groupId);
    const previous = this.snapshots.get(groupId);
    if (previous !== undefined) this.previousSnapshots.set(groupId, previous);
    this.snapshots.set(groupId, next);
    if (older !== undefined) await removeTree(this.options.fs, older.directory);
  }

  private checkpointSequence = 0;
  private stopping = false;
  /** Snapshot files being fetched, by group. */
  private readonly snapshotFetches = new Map<GroupId, Promise<void>>();
  /** When a group whose snapshot fetch failed may try again. */
  private readonly snapshotRetryAt = new Map<GroupId, number>();
  /** Snapshots installed from leaders since the node started. */
  snapshotsInstalled = 0;
  /** Followers' state hashes compared with this leader's, and how many differed. */
  stateHashChecks = 0;
  stateHashMismatches = 0;
  private hashTimer: NodeJS.Timeout | undefined;

  private get snapshotsDirectory(): string {
    return joinPath(this.options.dataDir, "snapshots");
  }

  private requestIdleFlushes(): void {
    const now = Date.now();
    // A sweep visits every group: not on every tick, or idle groups would cost.
    if (now - this.idleSweepAt < Math.min(1000, this.options.limits.idleFlushMs)) return;
    this.idleSweepAt = now;
    for (const member of this.members.values()) {
      const last = this.lastFlushAt.get(member.groupId) ?? now;
      if (!this.lastFlushAt.has(member.groupId)) this.lastFlushAt.set(member.groupId, now);
      if (member.unflushedEntries === 0 || now - last < this.options.limits.idleFlushMs) continue;
      this.lastFlushAt.set(member.groupId, now);
      void member.engine.flush().catch((error: unknown) => {
        this.logger.warn({ group: member.groupId, err: error }, "idle flush failed");
      });
    }
  }

  /**
   * Makes each checkpoint taken the group's Raft snapshot at its index, and
   * cuts the log below it, keeping a tail for followers a little behind.
   * Runs between Ready cycles, never inside one.
   */
  private async cleanLogs(): Promise<void> {
    for (const { member, index, directory } of this.checkpointsTaken.splice(0)) {
      const groupId = member.groupId;
      if (this.members.get(groupId) !== member || member.raw.raft.pendingSnapshot !== undefined) {
        // The group left this node (or came back anew) since the checkpoint,
        // or the leader's snapshot is about to replace the data it holds.
        await removeTree(this.options.fs, directory);
        continue;
      }
      const cut = tailStart(member, index, this.options.limits);
      const term = member.raw.raft.log.term(cut);
      member.raw.createSnapshot(index, encodeDescriptor({ groupId, index }));
      await this.retireSnapshot(groupId, { index, directory });
      if (term === undefined || cut <= member.raw.status().firstIndex) continue;
      member.raw.compact(cut);
      await this.storage.compact(groupId, cut, term);
      this.logger.debug({ group: groupId, cut, snapshotIndex: index }, "raft log truncated");
    }
  }
}

/** Removes every checkpoint directory under `root`. */
async function removeTreeOfTrees(fs: FileSystem, root: string): Promise<void> {
  if (!(await fs.exists(root))) return;
  for (const name of await fs.list(root)) await removeTree(fs, joinPath(root, name));
}

/**
 * The committed entries of a Ready that earlier cycles made durable here:
 * those below the first entry this Ready saves (committed entries are never
 * overwritten, so everything below it is as saved before). None when the
 * Ready installs a snapshot, which replaces the state they would apply to.
 */
function durablePrefix(ready: ReturnType<RawNode["ready"]>): readonly Entry[] {
  if (ready.snapshot !== undefined) return [];
  const firstSaved = ready.entries[0]?.index ?? Number.POSITIVE_INFINITY;
  const committed = ready.committedEntries;
  let count = 0;
  while (count < committed.length && committed[count]!.index < firstSaved) count++;
  return count === committed.length ? committed : committed.slice(0, count);
}

/** Bytes of the log's entries in [from, to], counted up to `enough`. */
function entryBytesBetween(member: GroupMember, from: number, to: number, enough: number): number {
  const log = member.raw.raft.log;
  let bytes = 0;
  for (let index = Math.max(from, log.firstIndex()); index <= to && bytes < enough; index++) {
    bytes += entryBytes(log.entry(index));
  }
  return bytes;
}

/**
 * Where the log is cut below a snapshot at `index`: a tail of at most
 * logTailEntries entries and about logTailBytes bytes stays, for followers a
 * little behind (one further behind gets the snapshot).
 */
function tailStart(member: GroupMember, index: number, limits: RuntimeLimits): number {
  const log = member.raw.raft.log;
  const floor = Math.max(index - limits.logTailEntries, log.firstIndex());
  let cut = index;
  let bytes = 0;
  while (cut > floor && bytes < limits.logTailBytes) {
    bytes += entryBytes(log.entry(cut));
    cut--;
  }
  return cut === floor ? index - limits.logTailEntries : cut;
}
