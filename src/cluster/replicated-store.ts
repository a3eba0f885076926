// The Store the client-facing server uses on a node of a replicated
// cluster (or a durable single node): every write becomes a log entry of the
// key's group, proposed on the group's leader; reads are served from the
// applied state after the leader confirms it still leads (ReadIndex), or
// from this node's state when stale reads are enabled.
//
// Every node accepts every key: when the leader is elsewhere, the command
// goes to it by request (peer-rpc.ts) and its outcome comes back. Retries
// follow ARCHITECTURE.md decision 6: a command that was certainly not
// applied (no leader took it) is tried again until the deadline; a command
// whose fate is unknown (the leader went silent after taking it) is retried
// only if it is idempotent — otherwise the client gets SERVER_ERROR.

import { setTimeout as delay } from "node:timers/promises";
import { LRUCache } from "lru-cache";
import { itemTotalBytes } from "../protocol/limits.js";
import type { GroupId, NodeId } from "../raft/types.js";
import type { Clock } from "../store/clock.js";
import { decodeStoreEntry, encodeStoreEntry, type StoreCommand } from "../store/entry-codec.js";
import { ttlSeconds } from "../store/exptime.js";
import type { ItemRecord } from "../store/item.js";
import {
  decodeOptionalItem,
  decodeOutcome,
  encodeOptionalItem,
  encodeOutcome,
} from "../store/outcome-codec.js";
import type { ApplyOutcome } from "../store/state-machine.js";
import type {
  ArithmeticRequest,
  ArithmeticResult,
  DeleteRequest,
  DeleteStatus,
  ItemDetails,
  ItemView,
  MetaGetRequest,
  MetaGetResult,
  Store,
  StoreRequest,
  StoreResult,
  StoreStats,
} from "../store/store.js";
import { assert } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import type { GroupMember } from "./group-member.js";
import type { NodeRuntime } from "./node-runtime.js";

/**
 * How reads are served. "linearizable" (default): the leader confirms its
 * leadership first. "lease": the leader serves while its lease holds, which
 * trusts bounded clock drift (set in the Raft config). "stale": any node
 * serves its own applied state, which may lag the leader.
 */
export type ReadMode = "linearizable" | "lease" | "stale";

export interface ReplicatedStoreOptions {
  readonly runtime: NodeRuntime;
  readonly nodeId: NodeId;
  readonly groupOf: (key: string) => GroupId;
  readonly clock: Clock;
  readonly readMode: ReadMode;
  readonly memoryLimitBytes: number;
  /** How long a command may wait for a leader, in total. */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

enum Method {
  Propose = 1,
  Read = 2,
}

/** Pauses between attempts while a group elects a leader. */
const retryDelayMs = 20;

/** Keys whose reads this node remembers (for mg h/l and me); older ones are forgotten. */
const accessRecordsMax = 100_000;
/** memcached records an access at most once per this many seconds (ITEM_UPDATE_INTERVAL). */
const accessUpdateIntervalSeconds = 60;

interface Access {
  /** The version the bookkeeping is about: a new version starts afresh. */
  readonly cas: bigint;
  readonly fetched: boolean;
  readonly time: number;
}

export class ReplicatedStore implements Store {
  private readonly runtime: NodeRuntime;
  /**
   * memcached's per-item access bookkeeping (fetched, last access), kept by
   * each node for the reads it serves: it is not replicated, like an LRU.
   */
  private readonly access = new LRUCache<string, Access>({ max: accessRecordsMax });
  /** The latest timestamp this node gave an entry: entries never go back in time. */
  private lastTimestampMs = 0;

  constructor(private readonly options: ReplicatedStoreOptions) {
    this.runtime = options.runtime;
    this.runtime.rpc.handle(Method.Propose, (_from, body) => this.serveProposal(body));
    this.runtime.rpc.handle(Method.Read, (_from, body) => this.serveRead(body));
  }

  async get(key: string, touchExptime?: number): Promise<ItemView | undefined> {
    if (touchExptime !== undefined) {
      const outcome = await this.propose({ kind: "touch", key, exptime: touchExptime }, true);
      assert(outcome?.kind === "touch", "touch outcome");
      if (outcome.result !== undefined) this.touchAccess(key, outcome.result);
      return outcome.result;
    }
    const item = await this.read(key);
    if (item !== undefined) this.touchAccess(key, item);
    return item;
  }

  async store(request: StoreRequest): Promise<StoreResult> {
    // set (and a replace or a cas) that ran twice leaves the same item; add,
    // append and prepend do not.
    const idempotent = request.mode === "set";
    const outcome = await this.propose({ kind: "store", request }, idempotent);
    assert(outcome?.kind === "store", "store outcome");
    return outcome.result;
  }

  async delete(request: DeleteRequest): Promise<DeleteStatus> {
    const idempotent = request.cas === undefined && request.invalidate !== true;
    const outcome = await this.propose({ kind: "delete", request }, idempotent);
    assert(outcome?.kind === "delete", "delete outcome");
    return outcome.result;
  }

  async arithmetic(request: ArithmeticRequest): Promise<ArithmeticResult> {
    const outcome = await this.propose({ kind: "arithmetic", request }, false);
    assert(outcome?.kind === "arithmetic", "arithmetic outcome");
    return outcome.result;
  }

  async touch(key: string, exptime: number): Promise<boolean> {
    const outcome = await this.propose({ kind: "touch", key, exptime }, true);
    assert(outcome?.kind === "touch", "touch outcome");
    return outcome.result !== undefined;
  }

  async flushAll(delay: number): Promise<void> {
    const groups = [...this.runtime.members.keys()];
    await Promise.all(
      groups.map((groupId) => this.proposeTo(groupId, { kind: "flush_all", delay }, true)),
    );
  }

  async metaGet(request: MetaGetRequest): Promise<MetaGetResult> {
    const acts =
      request.touchExptime !== undefined ||
      request.vivifyExptime !== undefined ||
      request.recacheExptime !== undefined;
    if (!acts) {
      const item = await this.read(request.key);
      // A stale item's first reader wins the recache right: that is a write.
      if (item === undefined || !item.stale || item.tokenSent) {
        const result = {
          item,
          ttl: ttl(item, request, this.nowSeconds()),
          won: false,
          alreadyWon: item?.tokenSent ?? false,
          stale: item?.stale ?? false,
          touched: false,
        };
        return { ...result, ...this.metaAccess(request, item) };
      }
    }
    const outcome = await this.propose({ kind: "meta_get", request }, false);
    assert(outcome?.kind === "meta_get", "meta_get outcome");
    return { ...outcome.result, ...this.metaAccess(request, outcome.result.item) };
  }

  /** What mg's h and l report, then the access itself (unless u). */
  private metaAccess(request: MetaGetRequest, item: ItemRecord | undefined) {
    if (item === undefined) return { fetchedBefore: false, idleSeconds: 0 };
    const before = this.accessOf(request.key, item);
    if (!request.noBump) this.touchAccess(request.key, item);
    return { fetchedBefore: before.fetched, idleSeconds: this.nowSeconds() - before.time };
  }

  private accessOf(key: string, item: ItemRecord): Access {
    const known = this.access.get(key);
    if (known !== undefined && known.cas === item.cas) return known;
    return { cas: item.cas, fetched: false, time: item.writeTime };
  }

  private touchAccess(key: string, item: ItemRecord): void {
    const before = this.accessOf(key, item);
    const now = this.nowSeconds();
    const time = before.time < now - accessUpdateIntervalSeconds ? now : before.time;
    this.access.set(key, { cas: item.cas, fetched: true, time });
  }

  async peek(key: string): Promise<ItemDetails | undefined> {
    // Through the read path like get: on a follower, its own state may not
    // yet hold the client's last write.
    const item = await this.read(key);
    return item === undefined ? undefined : details(key, item, this.accessOf(key, item));
  }

  async *items(): AsyncGenerator<[string, ItemDetails]> {
    const now = this.nowSeconds();
    for (const member of this.runtime.members.values()) {
      for await (const entry of member.engine.scan()) {
        if (entry.key.length > 250) continue;
        const item = await member.read(entry.key, now);
        if (item !== undefined)
          yield [entry.key, details(entry.key, item, this.accessOf(entry.key, item))];
      }
    }
  }

  stats(): StoreStats {
    let bytes = 0;
    for (const member of this.runtime.members.values()) {
      const stats = member.engine.stats();
      bytes += stats.memtableBytes + stats.levels.reduce((sum, level) => sum + level.bytes, 0);
    }
    return {
      currItems: 0,
      totalItems: 0,
      bytes,
      limitMaxbytes: this.options.memoryLimitBytes,
      getExpired: 0,
      getFlushed: 0,
      reclaimed: 0,
      expiredUnfetched: 0,
      storeNoMemory: 0,
      oldestItemAgeSeconds: 0,
    };
  }

  setMemoryLimit(): void {}

  close(): Promise<void> {
    return this.runtime.stop();
  }

  // ---- writes ----------------------------------------------------------------

  private propose(command: StoreCommand, idempotent: boolean): Promise<ApplyOutcome | undefined> {
    return this.proposeTo(this.options.groupOf(commandKey(command)), command, idempotent);
  }

  /**
   * Until the deadline: propose on the leader, here or by request. A refusal
   * (not the leader, no leader yet) is retried; an unknown fate is retried
   * only when the command is idempotent.
   */
  private async proposeTo(
    groupId: GroupId,
    command: StoreCommand,
    idempotent: boolean,
  ): Promise<ApplyOutcome | undefined> {
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      const member = this.runtime.member(groupId);
      try {
        if (member.isLeader)
          return await beforeDeadline(this.proposeHere(member, command), deadline, groupId);
        const leader = member.leaderId;
        if (leader !== 0 && leader !== this.options.nodeId) {
          const body = Buffer.concat([
            groupBytes(groupId),
            encodeStoreEntry({ timestampMs: 0, command }),
          ]);
          const reply = await this.runtime.rpc.call(
            leader,
            Method.Propose,
            body,
            deadline - Date.now(),
          );
          return decodeOutcome(reply);
        }
      } catch (error) {
        if (!retryable(error, idempotent) || Date.now() >= deadline)
          throw clientError(error, groupId);
      }
      if (Date.now() >= deadline) throw noLeader(groupId);
      await delay(retryDelayMs);
    }
  }

  private proposeHere(
    member: GroupMember,
    command: StoreCommand,
  ): Promise<ApplyOutcome | undefined> {
    const timestampMs = Math.max(
      this.options.clock.nowSeconds() * 1000,
      Date.now(),
      this.lastTimestampMs,
    );
    this.lastTimestampMs = timestampMs;
    const proposed = member.propose(encodeStoreEntry({ timestampMs, command }));
    this.runtime.schedule();
    return proposed;
  }

  /** A follower forwarded a command: propose it here, stamped with this leader's clock. */
  private async serveProposal(body: Buffer): Promise<Buffer> {
    const groupId = body.readUInt32LE(0);
    const { command } = decodeStoreEntry(body.subarray(4), "forwarded command");
    const member = this.runtime.member(groupId);
    if (!member.isLeader) {
      throw new MemraftError(
        "ERR_NOT_LEADER",
        `node ${this.options.nodeId} does not lead group ${groupId}`,
        { groupId },
      );
    }
    return encodeOutcome(await this.proposeHere(member, command));
  }

  // ---- reads -----------------------------------------------------------------

  private async read(key: string): Promise<ItemRecord | undefined> {
    const groupId = this.options.groupOf(key);
    if (this.options.readMode === "stale")
      return this.runtime.member(groupId).read(key, this.nowSeconds());
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      const member = this.runtime.member(groupId);
      try {
        if (member.isLeader)
          return await beforeDeadline(this.readHere(member, key), deadline, groupId);
        const leader = member.leaderId;
        if (leader !== 0 && leader !== this.options.nodeId) {
          const body = Buffer.concat([groupBytes(groupId), Buffer.from(key, "latin1")]);
          return decodeOptionalItem(
            await this.runtime.rpc.call(leader, Method.Read, body, deadline - Date.now()),
          );
        }
      } catch (error) {
        // A read changes nothing: retrying it is always safe.
        if (!retryable(error, true) || Date.now() >= deadline) throw clientError(error, groupId);
      }
      if (Date.now() >= deadline) throw noLeader(groupId);
      await delay(retryDelayMs);
    }
  }

  private async readHere(member: GroupMember, key: string): Promise<ItemRecord | undefined> {
    const barrier = member.readBarrier();
    this.runtime.schedule();
    await barrier;
    return member.read(key, this.nowSeconds());
  }

  private async serveRead(body: Buffer): Promise<Buffer> {
    const groupId = body.readUInt32LE(0);
    const key = body.toString("latin1", 4);
    const member = this.runtime.member(groupId);
    if (!member.isLeader) {
      throw new MemraftError(
        "ERR_NOT_LEADER",
        `node ${this.options.nodeId} does not lead group ${groupId}`,
        { groupId },
      );
    }
    return encodeOptionalItem(await this.readHere(member, key));
  }

  private nowSeconds(): number {
    return this.options.clock.nowSeconds();
  }
}

function commandKey(command: StoreCommand): string {
  switch (command.kind) {
    case "store":
    case "delete":
    case "arithmetic":
    case "meta_get":
      return command.request.key;
    case "touch":
      return command.key;
    case "flush_all":
      return "";
  }
}

function groupBytes(groupId: GroupId): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(groupId);
  return bytes;
}

/** ERR_NOT_LEADER and ERR_UNAVAILABLE mean nothing was applied; a timeout leaves the fate unknown. */
function retryable(error: unknown, idempotent: boolean): boolean {
  if (MemraftError.is(error, "ERR_NOT_LEADER") || MemraftError.is(error, "ERR_UNAVAILABLE"))
    return true;
  if (MemraftError.is(error, "ERR_QUEUE_FULL")) return true;
  return idempotent && MemraftError.is(error, "ERR_TIMEOUT");
}

function noLeader(groupId: GroupId): MemraftError {
  return new MemraftError("ERR_UNAVAILABLE", `group ${groupId} has no leader that answers`, {
    groupId,
  });
}

function clientError(error: unknown, groupId: GroupId): Error {
  if (MemraftError.is(error, "ERR_TIMEOUT")) {
    return new MemraftError(
      "ERR_TIMEOUT",
      `group ${groupId}: the leader took the command but did not answer; it may or may not have been applied`,
      { groupId },
    );
  }
  return error as Error;
}

function ttl(item: ItemRecord | undefined, request: MetaGetRequest, nowSeconds: number): number {
  if (item === undefined || !request.effectOrder.includes("t")) return -1;
  return ttlSeconds(item.exptime, nowSeconds);
}

function details(key: string, item: ItemRecord, access: Access): ItemDetails {
  const totalBytes = itemTotalBytes(key.length, item.value.length, item.flags);
  return { ...item, accessTime: access.time, fetched: access.fetched, totalBytes };
}

/** Rejects with ERR_TIMEOUT (fate unknown) if `promise` has not settled by `deadline`. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number, groupId: GroupId): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new MemraftError("ERR_TIMEOUT", `group ${groupId}: no answer in time`, { groupId })),
      Math.max(0, deadline - Date.now()),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
