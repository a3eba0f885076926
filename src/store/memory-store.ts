// The in-memory engine: memcached's semantics (semantics.ts) over a Map,
// synchronous. It is the model that later storage engines are tested
// against, so it favours being obviously right over being clever.
//
// memraft never forgets on its own: there is no eviction. When the memory
// budget is spent, writes fail with SERVER_ERROR out of memory (memcached's
// behaviour under -M) after expired items have been reclaimed.
//
// flush_all drops the whole map at once (O(1); the garbage collector frees
// the items). A delayed flush waits as a deadline and takes effect at the
// first operation at or after it, so everything written before that moment
// is flushed and nothing after it. Expired items are removed when touched
// and by a bounded background sweep.

import { itemTotalBytes } from "../protocol/limits.js";
import { assert } from "../util/assert.js";
import type { Clock } from "./clock.js";
import { absoluteExptime, isExpired } from "./exptime.js";
import type { AccessRecord, ItemRecord } from "./item.js";
import {
  type AccessEffect,
  applyArithmetic,
  applyDelete,
  applyMetaGet,
  applyStore,
  applyTouch,
  type WriteContext,
  type WriteOutcome,
} from "./semantics.js";
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
} from "./store.js";

/** memcached records an access at most once per this many seconds (ITEM_UPDATE_INTERVAL). */
const accessUpdateIntervalSeconds = 60;
const sweepIntervalMs = 1000;
/** Items examined per sweep step, so a sweep never blocks the event loop for long. */
const sweepItemsPerStep = 10_000;

export interface MemoryStoreOptions {
  readonly clock: Clock;
  readonly memoryLimitBytes: number;
  /** Largest item; append/prepend beyond it fail with NOT_STORED. */
  readonly itemSizeMaxBytes: number;
  /** Run the background sweep of expired items (off in tests that count items). */
  readonly sweep?: boolean;
}

/** One key's current version and what this node recorded about its reads. */
class Slot implements AccessRecord {
  fetched = false;
  time: number;

  constructor(
    public record: ItemRecord,
    public totalBytes: number,
  ) {
    this.time = record.writeTime;
  }
}

function details(record: ItemRecord, slot: Slot): ItemDetails {
  return { ...record, accessTime: slot.time, fetched: slot.fetched, totalBytes: slot.totalBytes };
}

const arithmeticNoMemory: ArithmeticResult = {
  status: "no_memory",
  value: 0n,
  cas: 0n,
  ttl: -1,
  created: false,
};
const noMemory: StoreResult = { status: "no_memory", cas: 0n };
const metaGetMiss: MetaGetResult = {
  item: undefined,
  ttl: -1,
  fetchedBefore: false,
  idleSeconds: 0,
  won: false,
  alreadyWon: false,
  stale: false,
  touched: false,
};

export class MemoryStore implements Store {
  private map = new Map<string, Slot>();
  private casCounter = 0n;
  private flushDeadline = 0;
  private bytesUsed = 0;
  private memoryLimitBytes: number;
  private totalItems = 0;
  private getExpired = 0;
  private reclaimed = 0;
  private expiredUnfetched = 0;
  private storeNoMemory = 0;
  private sweepCursor: Iterator<[string, Slot]> | undefined;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MemoryStoreOptions) {
    assert(options.memoryLimitBytes > 0, "memory limit must be positive");
    this.memoryLimitBytes = options.memoryLimitBytes;
    if (options.sweep !== false) {
      this.sweepTimer = setInterval(() => this.sweep(sweepItemsPerStep), sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  get(key: string, touchExptime?: number): ItemView | undefined {
    const now = this.now();
    const slot = this.live(key, now);
    if (slot === undefined) return undefined;
    if (touchExptime === undefined) {
      recordAccess(slot, "fetch", now);
      return slot.record;
    }
    // A touch keeps the item's size, so it always fits.
    const outcome = applyTouch(slot.record, touchExptime, this.context(now));
    return this.commit(key, slot, outcome, now)?.result;
  }

  store(request: StoreRequest): StoreResult {
    const now = this.now();
    const slot = this.live(request.key, now);
    const outcome = applyStore(slot?.record, request, this.context(now));
    const committed = this.commit(request.key, slot, outcome, now);
    if (committed !== undefined) return committed.result;
    // A failed set must not leave the old value readable (memcached does the same).
    if (request.mode === "set" && slot !== undefined) this.remove(request.key, slot);
    return noMemory;
  }

  delete(request: DeleteRequest): DeleteStatus {
    const now = this.now();
    const slot = this.live(request.key, now);
    const outcome = applyDelete(slot?.record, request, this.context(now));
    return this.commit(request.key, slot, outcome, now)?.result ?? "not_found";
  }

  arithmetic(request: ArithmeticRequest): ArithmeticResult {
    const now = this.now();
    const slot = this.live(request.key, now);
    const outcome = applyArithmetic(slot?.record, request, this.context(now));
    return this.commit(request.key, slot, outcome, now)?.result ?? arithmeticNoMemory;
  }

  touch(key: string, exptime: number): boolean {
    return this.get(key, exptime) !== undefined;
  }

  flushAll(delay: number): void {
    const now = this.now();
    if (delay > 0) {
      // memcached activates a delayed flush one second before the deadline.
      const activation = absoluteExptime(delay, now) - 1;
      if (activation > now) {
        this.flushDeadline = activation;
        return;
      }
    }
    this.flushNow();
  }

  metaGet(request: MetaGetRequest): MetaGetResult {
    const now = this.now();
    const slot = this.live(request.key, now);
    const fetchedBefore = slot?.fetched ?? false;
    const idleSeconds = slot === undefined ? 0 : now - slot.time;
    const outcome = applyMetaGet(slot?.record, request, this.context(now));
    // A vivified item that does not fit is a plain miss, as in memcached.
    if (this.commit(request.key, slot, outcome, now) === undefined) return metaGetMiss;
    return { ...outcome.result, fetchedBefore, idleSeconds };
  }

  peek(key: string): ItemDetails | undefined {
    const slot = this.live(key, this.now());
    return slot === undefined ? undefined : details(slot.record, slot);
  }

  async *items(): AsyncGenerator<[string, ItemDetails]> {
    const now = this.now();
    for (const [key, slot] of this.map) {
      if (!isExpired(slot.record.exptime, now)) yield [key, details(slot.record, slot)];
    }
  }

  stats(): StoreStats {
    // Map order is insertion order, so the first entry is the one held longest.
    const oldest = this.map.values().next();
    const now = this.options.clock.nowSeconds();
    return {
      oldestItemAgeSeconds: oldest.done === true ? 0 : now - oldest.value.time,
      currItems: this.map.size,
      totalItems: this.totalItems,
      bytes: this.bytesUsed,
      limitMaxbytes: this.memoryLimitBytes,
      getExpired: this.getExpired,
      // A flush empties the map, so no read ever finds a flushed item.
      getFlushed: 0,
      reclaimed: this.reclaimed,
      expiredUnfetched: this.expiredUnfetched,
      storeNoMemory: this.storeNoMemory,
    };
  }

  setMemoryLimit(bytes: number): void {
    assert(bytes > 0, "memory limit must be positive");
    this.memoryLimitBytes = bytes;
  }

  close(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
  }

  /**
   * Removes expired items, examining at most `budget` items, continuing where
   * the previous call stopped. Returns the number removed.
   */
  sweep(budget: number, now = this.now()): number {
    let removed = 0;
    for (let examined = 0; examined < budget; examined++) {
      this.sweepCursor ??= this.map.entries();
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        break;
      }
      const [key, slot] = next.value;
      if (!isExpired(slot.record.exptime, now)) continue;
      if (!slot.fetched) this.expiredUnfetched++;
      this.reclaimed++;
      this.remove(key, slot);
      removed++;
    }
    return removed;
  }

  // ---- internals -------------------------------------------------------------

  /** The clock's now, after a delayed flush whose time has come took effect. */
  private now(): number {
    const now = this.options.clock.nowSeconds();
    if (this.flushDeadline !== 0 && now >= this.flushDeadline) this.flushNow();
    return now;
  }

  private flushNow(): void {
    // memcached's flush takes a cas of its own; keep the numbering alike.
    this.casCounter += 1n;
    this.flushDeadline = 0;
    this.map = new Map();
    this.bytesUsed = 0;
    this.sweepCursor = undefined;
  }

  private context(nowSeconds: number): WriteContext {
    return {
      nowSeconds,
      cas: this.casCounter + 1n,
      itemSizeMaxBytes: this.options.itemSizeMaxBytes,
    };
  }

  /** The key's slot if its item is present and not expired; an expired one is removed. */
  private live(key: string, now: number): Slot | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (!isExpired(slot.record.exptime, now)) return slot;
    this.getExpired++;
    if (!slot.fetched) this.expiredUnfetched++;
    this.remove(key, slot);
    return undefined;
  }

  /**
   * Makes an outcome's change, and its access effect on the item that
   * remains. Returns undefined, changing nothing, when a new version does
   * not fit the memory budget.
   */
  private commit<Result>(
    key: string,
    slot: Slot | undefined,
    outcome: WriteOutcome<Result>,
    now: number,
  ): WriteOutcome<Result> | undefined {
    const change = outcome.change;
    if (change.kind === "delete") {
      if (slot !== undefined) this.remove(key, slot);
      return outcome;
    }
    let current = slot;
    if (change.kind === "put") {
      const record = change.record;
      const totalBytes = itemTotalBytes(key.length, record.value.length, record.flags);
      if (!this.fits(totalBytes - (slot?.totalBytes ?? 0), now)) {
        this.storeNoMemory++;
        return undefined;
      }
      if (record.cas > this.casCounter) {
        this.casCounter = record.cas;
        this.totalItems++;
      }
      current = this.link(key, slot, record, totalBytes);
    }
    if (current !== undefined) recordAccess(current, outcome.access, now);
    return outcome;
  }

  /** True when `extraBytes` more fit the budget, after reclaiming expired items if needed. */
  private fits(extraBytes: number, now: number): boolean {
    if (extraBytes <= 0 || this.bytesUsed + extraBytes <= this.memoryLimitBytes) return true;
    this.sweep(sweepItemsPerStep, now);
    return this.bytesUsed + extraBytes <= this.memoryLimitBytes;
  }

  private link(key: string, slot: Slot | undefined, record: ItemRecord, totalBytes: number): Slot {
    this.bytesUsed += totalBytes - (slot?.totalBytes ?? 0);
    // A new version gets fresh access bookkeeping, as a new memcached item does.
    if (slot !== undefined && slot.record.cas === record.cas) {
      slot.record = record;
      slot.totalBytes = totalBytes;
      return slot;
    }
    const fresh = new Slot(record, totalBytes);
    this.map.set(key, fresh);
    return fresh;
  }

  private remove(key: string, slot: Slot): void {
    assert(this.map.get(key) === slot, "removing an item that is not linked");
    this.map.delete(key);
    this.bytesUsed -= slot.totalBytes;
  }
}

/** memcached's do_item_bump and do_item_update. */
function recordAccess(slot: Slot, effect: AccessEffect, now: number): void {
  if (effect === "none") return;
  if (effect === "fetch") slot.fetched = true;
  if (slot.time < now - accessUpdateIntervalSeconds) slot.time = now;
}
