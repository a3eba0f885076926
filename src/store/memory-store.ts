// The in-memory engine: memcached's semantics over a Map, synchronous. It is
// the model that later storage engines are tested against, so it favours
// being obviously right over being clever.
//
// memraft never forgets on its own: there is no eviction. When the memory
// budget is spent, writes fail with SERVER_ERROR out of memory (memcached's
// behaviour under -M) after dead items have been reclaimed.
//
// flush_all drops the whole map at once (O(1); the garbage collector frees
// the items). A delayed flush waits in `flushDeadline` and takes effect at
// the first operation at or after its deadline, so everything written before
// that moment is flushed and nothing after it. Expired items are removed
// when touched and by a bounded background sweep.

import { itemTotalBytes } from "../protocol/limits.js";
import { parseUint64 } from "../protocol/numbers.js";
import { assert } from "../util/assert.js";
import type { Clock } from "./clock.js";
import { absoluteExptime, isExpired, neverExpires, ttlSeconds } from "./exptime.js";
import type {
  ArithmeticRequest,
  ArithmeticResult,
  DeleteRequest,
  DeleteStatus,
  ItemDetails,
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
const uint64Modulus = 1n << 64n;

export interface MemoryStoreOptions {
  readonly clock: Clock;
  readonly memoryLimitBytes: number;
  /** Largest item; append/prepend beyond it fail with NOT_STORED. */
  readonly itemSizeMaxBytes: number;
  /** Run the background sweep of dead items (off in tests that count items). */
  readonly sweep?: boolean;
}

class StoredItem implements ItemDetails {
  fetched = false;
  stale = false;
  /** A client was told it won the right to recache (memcached ITEM_TOKEN_SENT). */
  tokenSent = false;
  accessTime: number;

  constructor(
    readonly value: Buffer,
    readonly flags: number,
    public exptime: number,
    public cas: bigint,
    readonly keyBinary: boolean,
    readonly totalBytes: number,
    writeTime: number,
  ) {
    this.accessTime = writeTime;
  }
}

const missResult: MetaGetResult = {
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
  private map = new Map<string, StoredItem>();
  private casCounter = 0n;
  private flushDeadline = 0;
  private bytesUsed = 0;
  private memoryLimitBytes: number;
  private totalItems = 0;
  private getExpired = 0;
  private reclaimed = 0;
  private expiredUnfetched = 0;
  private storeNoMemory = 0;
  private sweepCursor: Iterator<[string, StoredItem]> | undefined;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MemoryStoreOptions) {
    assert(options.memoryLimitBytes > 0, "memory limit must be positive");
    this.memoryLimitBytes = options.memoryLimitBytes;
    if (options.sweep !== false) {
      this.sweepTimer = setInterval(() => this.sweep(sweepItemsPerStep), sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  get(key: string, touchExptime?: number): StoredItem | undefined {
    const now = this.now();
    const item = this.live(key, now);
    if (item === undefined) return undefined;
    if (touchExptime !== undefined) item.exptime = absoluteExptime(touchExptime, now);
    this.recordAccess(item, now);
    return item;
  }

  store(request: StoreRequest): StoreResult {
    const now = this.now();
    const old = this.live(request.key, now);
    let value = request.value;
    let flags = request.flags;
    let exptime = absoluteExptime(request.exptime, now);
    let stale = false;
    let tokenSent = false;
    switch (request.mode) {
      case "set":
        break;
      case "add":
        if (old !== undefined) {
          this.recordUpdate(old, now);
          return notStored;
        }
        break;
      case "replace":
        if (old === undefined) return notStored;
        break;
      case "append":
      case "prepend": {
        if (old === undefined) return notStored;
        if (request.cas !== 0n && request.cas !== old.cas) return exists;
        value =
          request.mode === "append"
            ? Buffer.concat([old.value, request.value])
            : Buffer.concat([request.value, old.value]);
        flags = old.flags;
        exptime = old.exptime;
        if (this.itemBytes(request.key, value, flags) > this.options.itemSizeMaxBytes) {
          return notStored;
        }
        break;
      }
      case "cas":
        if (old === undefined) return notFound;
        if (request.cas === old.cas) break;
        if (request.invalidate === true && request.cas < old.cas) {
          // A stale value from a slower writer: keep it, marked, under the old TTL.
          exptime = old.exptime;
          stale = true;
          tokenSent = old.tokenSent;
          break;
        }
        return exists;
    }
    const item = this.newItem(request.key, value, flags, exptime, request.keyBinary === true, now);
    if (!this.fits(item.totalBytes - (old?.totalBytes ?? 0), now)) {
      // A failed set must not leave the old value readable (memcached does the same).
      if (request.mode === "set" && old !== undefined) this.remove(request.key, old);
      this.storeNoMemory++;
      return noMemory;
    }
    item.stale = stale;
    item.tokenSent = tokenSent;
    this.link(request.key, item, old);
    return { status: "stored", cas: item.cas };
  }

  delete(request: DeleteRequest): DeleteStatus {
    const now = this.now();
    const item = this.live(request.key, now);
    if (item === undefined) return "not_found";
    if (request.cas !== undefined && request.cas !== item.cas) return "exists";
    if (request.invalidate === true) {
      if (request.touchExptime !== undefined) {
        item.exptime = absoluteExptime(request.touchExptime, now);
      }
      item.stale = true;
      item.tokenSent = false;
      item.cas = this.nextCas();
      return "deleted";
    }
    this.remove(request.key, item);
    return "deleted";
  }

  arithmetic(request: ArithmeticRequest): ArithmeticResult {
    const now = this.now();
    const old = this.live(request.key, now);
    if (old === undefined) {
      if (request.vivifyExptime === undefined) return arithmeticNotFound;
      const initial = request.initial ?? 0n;
      const item = this.newItem(request.key, decimal(initial), 0, neverExpires, false, now);
      if (!this.fits(item.totalBytes, now)) {
        this.storeNoMemory++;
        return arithmeticNoMemory;
      }
      this.link(request.key, item, undefined);
      const ttl = this.applyArithmeticEffects(item, request, true, now);
      return { status: "ok", value: initial, cas: item.cas, ttl, created: true };
    }
    if (old.value.length === 0) return arithmeticNonNumeric;
    const cas = request.cas ?? 0n;
    if (cas !== 0n && cas !== old.cas) return arithmeticExists;
    const current = parseUint64(old.value, 0, old.value.length);
    if (current === undefined) return arithmeticNonNumeric;
    let next: bigint;
    if (request.incr) next = (current + request.delta) % uint64Modulus;
    else next = current > request.delta ? current - request.delta : 0n;
    const item = this.newItem(
      request.key,
      decimalPadded(next, old.value.length),
      old.flags,
      old.exptime,
      old.keyBinary,
      now,
    );
    if (!this.fits(item.totalBytes - old.totalBytes, now)) {
      this.storeNoMemory++;
      return arithmeticNoMemory;
    }
    this.link(request.key, item, old);
    const ttl = this.applyArithmeticEffects(item, request, false, now);
    return { status: "ok", value: next, cas: item.cas, ttl, created: false };
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
    let item = this.live(request.key, now);
    let created = false;
    if (item === undefined) {
      if (request.vivifyExptime === undefined) return missResult;
      const empty = this.newItem(request.key, emptyValue, 0, neverExpires, request.keyBinary, now);
      if (!this.fits(empty.totalBytes, now)) {
        this.storeNoMemory++;
        return missResult;
      }
      this.link(request.key, empty, undefined);
      item = empty;
      created = true;
    }
    const fetchedBefore = item.fetched;
    const idleSeconds = now - item.accessTime;
    let won = false;
    let touched = false;
    let ttl = -1;
    for (const effect of request.effectOrder) {
      switch (effect) {
        case "T":
          item.exptime = absoluteExptime(request.touchExptime!, now);
          touched = true;
          break;
        case "N":
          if (created) {
            item.exptime = absoluteExptime(request.vivifyExptime!, now);
            won = true;
          }
          break;
        case "R": {
          const recacheBefore = absoluteExptime(request.recacheExptime!, now);
          const expiresSoon = item.exptime !== neverExpires && item.exptime < recacheBefore;
          if (!item.tokenSent && !created && expiresSoon) won = true;
          break;
        }
        case "t":
          ttl = ttlSeconds(item.exptime, now);
          break;
      }
    }
    const alreadyWon = item.tokenSent;
    const stale = item.stale;
    if (stale && !alreadyWon) won = true;
    if (won) item.tokenSent = true;
    if (!request.noBump) this.recordAccess(item, now);
    return { item, ttl, fetchedBefore, idleSeconds, won, alreadyWon, stale, touched };
  }

  peek(key: string): StoredItem | undefined {
    return this.live(key, this.now());
  }

  *items(): Generator<[string, ItemDetails]> {
    const now = this.now();
    for (const [key, item] of this.map) {
      if (!isExpired(item.exptime, now)) yield [key, item];
    }
  }

  stats(): StoreStats {
    // Map order is insertion order, so the first entry is the one held longest.
    const oldest = this.map.values().next();
    const now = this.options.clock.nowSeconds();
    return {
      oldestItemAgeSeconds: oldest.done === true ? 0 : now - oldest.value.accessTime,
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
      const [key, item] = next.value;
      if (!isExpired(item.exptime, now)) continue;
      if (!item.fetched) this.expiredUnfetched++;
      this.reclaimed++;
      this.remove(key, item);
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
    this.nextCas();
    this.flushDeadline = 0;
    this.map = new Map();
    this.bytesUsed = 0;
    this.sweepCursor = undefined;
  }

  /** The item if present and not expired; an expired one is removed on the way. */
  private live(key: string, now: number): StoredItem | undefined {
    const item = this.map.get(key);
    if (item === undefined) return undefined;
    if (!isExpired(item.exptime, now)) return item;
    this.getExpired++;
    if (!item.fetched) this.expiredUnfetched++;
    this.remove(key, item);
    return undefined;
  }

  private newItem(
    key: string,
    value: Buffer,
    flags: number,
    exptime: number,
    keyBinary: boolean,
    now: number,
  ): StoredItem {
    const totalBytes = this.itemBytes(key, value, flags);
    return new StoredItem(value, flags, exptime, this.nextCas(), keyBinary, totalBytes, now);
  }

  private itemBytes(key: string, value: Buffer, flags: number): number {
    return itemTotalBytes(key.length, value.length, flags);
  }

  /** True when `extraBytes` more fit the budget, after reclaiming expired items if needed. */
  private fits(extraBytes: number, now: number): boolean {
    if (this.bytesUsed + extraBytes <= this.memoryLimitBytes) return true;
    this.sweep(sweepItemsPerStep, now);
    return this.bytesUsed + extraBytes <= this.memoryLimitBytes;
  }

  private link(key: string, item: StoredItem, old: StoredItem | undefined): void {
    if (old !== undefined) this.bytesUsed -= old.totalBytes;
    this.map.set(key, item);
    this.bytesUsed += item.totalBytes;
    this.totalItems++;
  }

  private remove(key: string, item: StoredItem): void {
    assert(this.map.get(key) === item, "removing an item that is not linked");
    this.map.delete(key);
    this.bytesUsed -= item.totalBytes;
  }

  private nextCas(): bigint {
    this.casCounter += 1n;
    return this.casCounter;
  }

  /** memcached's do_item_bump: mark fetched, move the access time now and then. */
  private recordAccess(item: StoredItem, now: number): void {
    item.fetched = true;
    this.recordUpdate(item, now);
  }

  private recordUpdate(item: StoredItem, now: number): void {
    if (item.accessTime < now - accessUpdateIntervalSeconds) item.accessTime = now;
  }

  private applyArithmeticEffects(
    item: StoredItem,
    request: ArithmeticRequest,
    created: boolean,
    now: number,
  ): number {
    let ttl = -1;
    for (const effect of request.effectOrder ?? "") {
      if (effect === "t") ttl = ttlSeconds(item.exptime, now);
      else if (effect === "T") item.exptime = absoluteExptime(request.touchExptime!, now);
      else if (effect === "N" && created) {
        item.exptime = absoluteExptime(request.vivifyExptime!, now);
      }
    }
    return ttl;
  }
}

const emptyValue = Buffer.alloc(0);
const notStored: StoreResult = { status: "not_stored", cas: 0n };
const exists: StoreResult = { status: "exists", cas: 0n };
const notFound: StoreResult = { status: "not_found", cas: 0n };
const noMemory: StoreResult = { status: "no_memory", cas: 0n };

function arithmeticFailure(status: ArithmeticResult["status"]): ArithmeticResult {
  return { status, value: 0n, cas: 0n, ttl: -1, created: false };
}

const arithmeticNotFound = arithmeticFailure("not_found");
const arithmeticNonNumeric = arithmeticFailure("non_numeric");
const arithmeticExists = arithmeticFailure("exists");
const arithmeticNoMemory = arithmeticFailure("no_memory");

function decimal(value: bigint): Buffer {
  return Buffer.from(value.toString(), "latin1");
}

/**
 * memcached rewrites a shorter incr/decr result in place, padded with spaces
 * to the old length ("10" decr 1 reads back as "9 "); a longer one gets a
 * new item. Clients can see the padding, so it is kept.
 */
function decimalPadded(value: bigint, oldLength: number): Buffer {
  const digits = value.toString();
  if (digits.length >= oldLength) return Buffer.from(digits, "latin1");
  return Buffer.from(digits.padEnd(oldLength, " "), "latin1");
}
