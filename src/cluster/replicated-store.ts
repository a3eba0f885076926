// The Store the client-facing server uses on a memraft node: each key's
// command goes to the key's group (group-client.ts runs it on the group's
// leader, wherever that is). Reads are linearizable by default, or served
// from this node's own state when stale reads are enabled.
//
// Item access bookkeeping that memcached keeps per item (fetched, last
// access; mg h/l, me) is this node's own and not replicated, like an LRU.

import { LRUCache } from "lru-cache";
import { itemTotalBytes } from "../protocol/limits.js";
import type { GroupId } from "../raft/types.js";
import type { Clock } from "../store/clock.js";
import type { StoreCommand } from "../store/entry-codec.js";
import { ttlSeconds } from "../store/exptime.js";
import type { ItemRecord } from "../store/item.js";
import type { ApplyOutcome } from "../store/state-machine.js";
import type {
  ArithmeticRequest,
  ArithmeticResult,
  DeleteRequest,
  DeleteStatus,
  ItemDetails,
  ItemView,
  MaybePromise,
  MetaGetRequest,
  MetaGetResult,
  Store,
  StoreRequest,
  StoreResult,
  StoreStats,
} from "../store/store.js";
import { assert } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import type { GroupClient } from "./group-client.js";
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
  readonly groups: GroupClient;
  /** The key's data group; a promise only while the node is still learning its slot map. */
  readonly groupOf: (key: string) => GroupId | Promise<GroupId>;
  /** Every data group, for flush_all. */
  readonly dataGroupIds: () => readonly GroupId[];
  readonly clock: Clock;
  readonly readMode: ReadMode;
  readonly memoryLimitBytes: number;
}

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

  constructor(private readonly options: ReplicatedStoreOptions) {
    this.runtime = options.runtime;
  }

  get(key: string, touchExptime?: number): MaybePromise<ItemView | undefined> {
    if (touchExptime !== undefined) return this.getAndTouch(key, touchExptime);
    const item = this.read(key);
    return item instanceof Promise
      ? item.then((found) => this.fetched(key, found))
      : this.fetched(key, item);
  }

  private async getAndTouch(key: string, exptime: number): Promise<ItemView | undefined> {
    const outcome = await this.propose({ kind: "touch", key, exptime });
    assert(outcome?.kind === "touch", "touch outcome");
    if (outcome.result !== undefined) this.touchAccess(key, outcome.result);
    return outcome.result;
  }

  private fetched(key: string, item: ItemRecord | undefined): ItemRecord | undefined {
    if (item !== undefined) this.touchAccess(key, item);
    return item;
  }

  store(request: StoreRequest): Promise<StoreResult> {
    return this.propose({ kind: "store", request }).then(storeResult);
  }

  async delete(request: DeleteRequest): Promise<DeleteStatus> {
    const outcome = await this.propose({ kind: "delete", request });
    assert(outcome?.kind === "delete", "delete outcome");
    return outcome.result;
  }

  async arithmetic(request: ArithmeticRequest): Promise<ArithmeticResult> {
    const outcome = await this.propose({ kind: "arithmetic", request });
    assert(outcome?.kind === "arithmetic", "arithmetic outcome");
    return outcome.result;
  }

  async touch(key: string, exptime: number): Promise<boolean> {
    const outcome = await this.propose({ kind: "touch", key, exptime });
    assert(outcome?.kind === "touch", "touch outcome");
    return outcome.result !== undefined;
  }

  async flushAll(delay: number): Promise<void> {
    const groupIds = this.options.dataGroupIds();
    if (groupIds.length === 0) {
      throw new MemraftError("ERR_UNAVAILABLE", "this node does not know the cluster's groups yet");
    }
    await Promise.all(
      groupIds.map((groupId) =>
        this.options.groups.propose(groupId, { kind: "flush_all", delay }, false),
      ),
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
    const outcome = await this.propose({ kind: "meta_get", request });
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
    // Most reads repeat what is recorded: no new record for them.
    if (before.fetched && time === before.time) return;
    this.access.set(key, { cas: item.cas, fetched: true, time });
  }

  async peek(key: string): Promise<ItemDetails | undefined> {
    // Through the read path like get: on a follower, its own state may not
    // yet hold the client's last write.
    const item = await this.read(key);
    return item === undefined ? undefined : details(key, item, this.accessOf(key, item));
  }

  /** This node's replicas' items: like memcached, a dump shows one server's share. */
  async *items(): AsyncGenerator<[string, ItemDetails]> {
    const now = this.nowSeconds();
    const dataGroups = new Set(this.options.dataGroupIds());
    for (const member of this.runtime.members.values()) {
      if (!dataGroups.has(member.groupId)) continue;
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
    const dataGroups = new Set(this.options.dataGroupIds());
    for (const member of this.runtime.members.values()) {
      if (!dataGroups.has(member.groupId)) continue;
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

  /**
   * No write is sent again after an unknown outcome, not even a set: run
   * twice, around another client's write, it would undo that write, which
   * no single run of it could. The client hears SERVER_ERROR and decides.
   */
  private propose(command: StoreCommand): Promise<ApplyOutcome | undefined> {
    // A wait for the slot map counts against the request's one timeout.
    const startedAt = Date.now();
    const { groups } = this.options;
    const groupId = this.options.groupOf(commandKey(command));
    if (typeof groupId === "number") return groups.propose(groupId, command, false, startedAt);
    return groupId.then((known) => groups.propose(known, command, false, startedAt));
  }

  /** A value rather than a promise when the group can answer at once (group-client.ts). */
  private read(key: string): MaybePromise<ItemRecord | undefined> {
    const groupId = this.options.groupOf(key);
    if (typeof groupId === "number") return this.readInGroup(groupId, key);
    // A wait for the slot map counts against the request's one timeout.
    const startedAt = Date.now();
    return groupId.then((known) => this.readInGroup(known, key, startedAt));
  }

  private readInGroup(
    groupId: GroupId,
    key: string,
    startedAt?: number,
  ): MaybePromise<ItemRecord | undefined> {
    return this.options.readMode === "stale"
      ? this.options.groups.readLocal(groupId, key, startedAt)
      : this.options.groups.read(groupId, key, startedAt);
  }

  private nowSeconds(): number {
    return this.options.clock.nowSeconds();
  }
}

/** The hot path's continuation: a module function, so a set allocates no closure for it. */
function storeResult(outcome: ApplyOutcome | undefined): StoreResult {
  assert(outcome?.kind === "store", "store outcome");
  return outcome.result;
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

function ttl(item: ItemRecord | undefined, request: MetaGetRequest, nowSeconds: number): number {
  if (item === undefined || !request.effectOrder.includes("t")) return -1;
  return ttlSeconds(item.exptime, nowSeconds);
}

function details(key: string, item: ItemRecord, access: Access): ItemDetails {
  const totalBytes = itemTotalBytes(key.length, item.value.length, item.flags);
  return { ...item, accessTime: access.time, fetched: access.fetched, totalBytes };
}
