// The storage interface the server talks to: memcached's semantics, one
// method per kind of operation. Results may be synchronous (the in-memory
// engine) or promised (a replicated store), so callers handle both and the
// in-memory path never pays for a promise.
//
// Contract for every implementation:
// - operations issued by one caller take effect in the order issued;
// - exptime arguments are the client's raw int32 values (see exptime.ts);
//   the store turns them into absolute times with its own notion of now;
// - cas uniques are positive, unique and increase with every new version;
// - values handed out are never mutated afterwards, so callers may keep
//   references to them (the output buffer does).

import type { StorageMode } from "../protocol/commands.js";

export type MaybePromise<T> = T | Promise<T>;

/** What a reader sees of an item. */
export interface ItemView {
  readonly value: Buffer;
  /** Client flags, unsigned 32-bit. */
  readonly flags: number;
  readonly cas: bigint;
  /** Absolute unix seconds, 0 for never. */
  readonly exptime: number;
  /** The key was set through a meta command with a base64 (`b`) key. */
  readonly keyBinary: boolean;
}

/** Item metadata that only debugging and dumps show. */
export interface ItemDetails extends ItemView {
  /** Unix seconds of the last access memcached would have recorded. */
  readonly accessTime: number;
  readonly fetched: boolean;
  /** Bytes the item counts for, memcached's formula. */
  readonly totalBytes: number;
}

export interface StoreRequest {
  readonly mode: StorageMode;
  readonly key: string;
  readonly value: Buffer;
  readonly flags: number;
  readonly exptime: number;
  /** For mode "cas", the expected cas; for append/prepend a non-zero cas must match. */
  readonly cas: bigint;
  /** With mode "cas": a lower cas stores the value marked stale (meta `I`). */
  readonly invalidate?: boolean;
  readonly keyBinary?: boolean;
}

export type StoreStatus = "stored" | "not_stored" | "exists" | "not_found" | "no_memory";

export interface StoreResult {
  readonly status: StoreStatus;
  /** The new item's cas when stored, else 0n. */
  readonly cas: bigint;
}

export interface DeleteRequest {
  readonly key: string;
  /** Delete only if the item's cas equals this (meta `C`). */
  readonly cas?: bigint | undefined;
  /** Mark stale with a new cas instead of deleting (meta `I`). */
  readonly invalidate?: boolean;
  /** With invalidate, the item's new exptime (meta `T`). */
  readonly touchExptime?: number | undefined;
}

export type DeleteStatus = "deleted" | "not_found" | "exists";

export interface ArithmeticRequest {
  readonly key: string;
  readonly incr: boolean;
  readonly delta: bigint;
  /** A non-zero cas must match the item's (meta `C`). */
  readonly cas?: bigint;
  /** Meta `N`: on a miss create the item with `initial`, and this exptime. */
  readonly vivifyExptime?: number | undefined;
  readonly initial?: bigint;
  /** Meta `T`: the item's new exptime. */
  readonly touchExptime?: number | undefined;
  /**
   * Meta: the letters t, T and N in request order. They act in that order,
   * so `t` reports the TTL as of its position.
   */
  readonly effectOrder?: string;
}

export type ArithmeticStatus = "ok" | "not_found" | "non_numeric" | "exists" | "no_memory";

export interface ArithmeticResult {
  readonly status: ArithmeticStatus;
  /** The new value when status is "ok". */
  readonly value: bigint;
  readonly cas: bigint;
  /** TTL as the `t` flag prints it, at its position in effectOrder. */
  readonly ttl: number;
  /** The item did not exist and was created (meta `N`). */
  readonly created: boolean;
}

export interface MetaGetRequest {
  readonly key: string;
  /** Meta `u`: do not record the access. */
  readonly noBump: boolean;
  readonly touchExptime: number | undefined;
  readonly vivifyExptime: number | undefined;
  readonly recacheExptime: number | undefined;
  /** The letters T, N, R and t in request order; they act in that order. */
  readonly effectOrder: string;
  /** The key arrived base64-encoded; a vivified item remembers it. */
  readonly keyBinary: boolean;
}

export interface MetaGetResult {
  /** undefined on a miss. */
  readonly item: ItemView | undefined;
  readonly ttl: number;
  /** Was the item fetched before this command (`h`). */
  readonly fetchedBefore: boolean;
  /** Seconds since the last recorded access, before this command (`l`). */
  readonly idleSeconds: number;
  /** This client won the right to recache (`W`). */
  readonly won: boolean;
  /** Another client already won (`Z`). */
  readonly alreadyWon: boolean;
  /** The item is marked stale (`X`). */
  readonly stale: boolean;
  /** A `T` flag changed the TTL: memcached counts the command as a touch. */
  readonly touched: boolean;
}

/** Counters only the store can know, named after memcached's stats. */
export interface StoreStats {
  readonly currItems: number;
  readonly totalItems: number;
  readonly bytes: number;
  readonly limitMaxbytes: number;
  readonly getExpired: number;
  readonly getFlushed: number;
  readonly reclaimed: number;
  readonly expiredUnfetched: number;
  readonly storeNoMemory: number;
  /** Seconds since the longest-held item was last accessed (memcached's items:age). */
  readonly oldestItemAgeSeconds: number;
}

export interface Store {
  /** get/gets, and gat/gats when `touchExptime` is given. Records an access. */
  get(key: string, touchExptime?: number): MaybePromise<ItemView | undefined>;
  store(request: StoreRequest): MaybePromise<StoreResult>;
  delete(request: DeleteRequest): MaybePromise<DeleteStatus>;
  arithmetic(request: ArithmeticRequest): MaybePromise<ArithmeticResult>;
  touch(key: string, exptime: number): MaybePromise<boolean>;
  /** Invalidates every item now (delay <= 0) or when the delay has passed. */
  flushAll(delay: number): MaybePromise<void>;
  metaGet(request: MetaGetRequest): MaybePromise<MetaGetResult>;
  /** Looks at an item without recording an access (`me`, dumps). */
  peek(key: string): MaybePromise<ItemDetails | undefined>;
  /** Live items, in no particular order, for dumps. */
  items(): AsyncIterator<[string, ItemDetails]>;
  stats(): StoreStats;
  /** Changes the memory budget (`cache_memlimit`). */
  setMemoryLimit(bytes: number): void;
  /** Stops background work; the store is not used afterwards. */
  close(): MaybePromise<void>;
}
