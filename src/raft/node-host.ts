// Runs the Raft groups of one node on real time, disk and network: a timer
// ticks every group, and one processing pass takes every group's Ready,
// saves them all under a single fsync of the shared log, then sends, applies
// and advances (the Ready contract of raw-node.ts). Proposals resolve when
// this node applies them.
//
// Not pure: owns a timer and I/O. The core stays in raft.ts.

import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import type { RaftConfig } from "./config.js";
import { limits } from "./limits.js";
import { type RaftLogStorage, readyWrite } from "./log-storage/log-storage.js";
import { tickMembers } from "./quiet-ticks.js";
import { canSendBeforeSave, RawNode } from "./raw-node.js";
import {
  type PeerAddress,
  TcpTransport,
  type TcpTransportOptions,
} from "./transport/tcp-transport.js";
import type { ConfState, Entry, GroupId, Message } from "./types.js";

export interface HostedGroupOptions {
  readonly groupId: GroupId;
  readonly config: Omit<RaftConfig, "id" | "groupId">;
  /** The configuration of a new group (ignored when the log has the group). */
  readonly bootstrap: Pick<ConfState, "voters" | "learners">;
  readonly apply: (entry: Entry) => void;
}

interface HostedGroup {
  readonly raw: RawNode;
  readonly apply: (entry: Entry) => void;
  /** index -> waiting proposal (with the term it was proposed in). */
  readonly waiters: Map<
    number,
    { term: number; resolve: () => void; reject: (error: Error) => void }
  >;
}

export class NodeHost {
  private readonly groups = new Map<GroupId, HostedGroup>();
  private timer: NodeJS.Timeout | undefined;
  private processing = false;
  private again = false;
  private failed: Error | undefined;

  constructor(
    readonly nodeId: number,
    private readonly storage: RaftLogStorage,
    private transport: TcpTransport | undefined,
    private readonly logger: Logger,
  ) {}

  attachTransport(transport: TcpTransport): void {
    this.transport = transport;
  }

  addGroup(options: HostedGroupOptions): RawNode {
    const recovered = this.storage.takeRecovered(options.groupId);
    const start =
      recovered === undefined
        ? RawNode.bootstrapState(options.bootstrap)
        : {
            ...recovered,
            applied: recovered.offset,
            conf: { ...options.bootstrap, votersOutgoing: [] },
          };
    const raw = new RawNode(
      { ...options.config, id: this.nodeId, groupId: options.groupId },
      start,
    );
    this.groups.set(options.groupId, { raw, apply: options.apply, waiters: new Map() });
    return raw;
  }

  start(tickMs: number, electionTicks: number): void {
    this.timer = setInterval(() => {
      if (tickMembers(this.groups.values(), this.transport, electionTicks * tickMs) > 0)
        this.schedule();
    }, tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Steps messages that arrived from the network. */
  receive(messages: Message[]): void {
    for (const message of messages) this.groups.get(message.groupId)?.raw.step(message);
    this.schedule();
  }

  /** Proposes `data` in a group led here; resolves once applied on this node. */
  propose(groupId: GroupId, data: Uint8Array): Promise<void> {
    const group = this.groups.get(groupId);
    if (group === undefined)
      return Promise.reject(new MemraftError("ERR_CONFIG", `no group ${groupId}`, { groupId }));
    try {
      const index = group.raw.propose(data);
      const term = group.raw.raft.term;
      this.schedule();
      return new Promise((resolve, reject) => group.waiters.set(index, { term, resolve, reject }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  group(groupId: GroupId): RawNode | undefined {
    return this.groups.get(groupId)?.raw;
  }

  private schedule(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    this.processing = true;
    setImmediate(() => void this.process());
  }

  private async process(): Promise<void> {
    do {
      this.again = false;
      const batch: { group: HostedGroup; ready: ReturnType<RawNode["ready"]> }[] = [];
      const saves: Promise<void>[] = [];
      for (const [groupId, group] of this.groups) {
        if (!group.raw.hasReady()) continue;
        const ready = group.raw.ready();
        batch.push({ group, ready });
        for (const message of ready.messages)
          if (canSendBeforeSave(message)) this.transport?.send(message);
        const write = readyWrite(ready);
        if (write !== undefined) saves.push(this.storage.save(groupId, write));
      }
      if (batch.length === 0) break;
      try {
        await Promise.all(saves);
      } catch (error) {
        // A failed fsync cannot be retried: stop, and let the node restart from disk.
        this.failed = error as Error;
        this.logger.error({ err: (error as Error).message }, "raft log write failed; node stops");
        this.stop();
        for (const { group } of batch)
          for (const waiter of group.waiters.values()) waiter.reject(this.failed);
        return;
      }
      for (const { group, ready } of batch) this.finish(group, ready);
    } while (this.again || [...this.groups.values()].some((group) => group.raw.hasReady()));
    this.processing = false;
    if (this.again) this.schedule();
  }

  private finish(group: HostedGroup, ready: ReturnType<RawNode["ready"]>): void {
    for (const message of ready.messages)
      if (!canSendBeforeSave(message)) this.transport?.send(message);
    for (const entry of ready.committedEntries) {
      group.apply(entry);
      const waiter = group.waiters.get(entry.index);
      if (waiter === undefined) continue;
      group.waiters.delete(entry.index);
      if (waiter.term === entry.term) waiter.resolve();
      else
        waiter.reject(
          new MemraftError("ERR_NOT_LEADER", "proposal lost to a leader change", {
            index: entry.index,
          }),
        );
    }
    if (ready.softState !== undefined && ready.softState.role !== "leader") {
      for (const [index, waiter] of group.waiters) {
        group.waiters.delete(index);
        waiter.reject(
          new MemraftError("ERR_NOT_LEADER", "leadership lost before commit", { index }),
        );
      }
    }
    group.raw.advance();
  }
}

export interface StartNodeOptions {
  readonly nodeId: number;
  readonly storage: RaftLogStorage;
  /** Every node's transport address, this one's included. */
  readonly addresses: ReadonlyMap<number, PeerAddress>;
  readonly groups: readonly HostedGroupOptions[];
  readonly tickMs: number;
  readonly logger: Logger;
  readonly transportOptions?: Pick<TcpTransportOptions, "coalesceHeartbeats">;
}

/** A node hosting `groups` on its log, reachable over TCP, ticking. */
export async function startNode(
  options: StartNodeOptions,
): Promise<{ host: NodeHost; transport: TcpTransport }> {
  const host = new NodeHost(options.nodeId, options.storage, undefined, options.logger);
  const listen = options.addresses.get(options.nodeId);
  if (listen === undefined)
    throw new MemraftError("ERR_CONFIG", `no address for node ${options.nodeId}`, {
      nodeId: options.nodeId,
    });
  const config = options.groups[0]?.config;
  const heartbeatTicks = config?.heartbeatTicks ?? limits.heartbeatTicks;
  const transport = new TcpTransport({
    nodeId: options.nodeId,
    listen,
    peers: options.addresses,
    deliver: (messages) => host.receive(messages),
    logger: options.logger,
    // Keepalives as often as heartbeats: the detector waits an election timeout.
    keepaliveMs: options.tickMs * heartbeatTicks,
    ...options.transportOptions,
  });
  host.attachTransport(transport);
  for (const group of options.groups) host.addGroup(group);
  await transport.start();
  host.start(options.tickMs, config?.electionTicks ?? limits.electionTicks);
  return { host, transport };
}
