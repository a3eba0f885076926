// memcached's semantics, one pure function per kind of write. Each takes
// the item's current live version (or undefined), the request and a
// WriteContext (the time and the cas a new version takes) and returns the
// reply and the change to make. No clock, no counter, no I/O: the in-memory
// engine and the replicated state machine both call these, so every engine
// agrees with memcached the same way, and apply is deterministic.
//
// Rules kept from memcached 1.6 (memcached.c do_store_item, do_add_delta):
// - append/prepend keep the item's flags and exptime, and fail with
//   NOT_STORED when the result would exceed the item size limit;
// - a cas mismatch is EXISTS, a missing item NOT_FOUND; with invalidate, a
//   lower cas stores the value marked stale under the old exptime;
// - incr wraps at 2^64, decr stops at 0; a shorter result keeps the old
//   length, padded with spaces;
// - touch and gat keep the cas; every other write makes a new version.

import { itemTotalBytes } from "../protocol/limits.js";
import { parseUint64 } from "../protocol/numbers.js";
import { absoluteExptime, neverExpires, ttlSeconds } from "./exptime.js";
import type { ItemRecord } from "./item.js";
import type {
  ArithmeticRequest,
  ArithmeticResult,
  DeleteRequest,
  DeleteStatus,
  MetaGetRequest,
  StoreRequest,
  StoreResult,
} from "./store.js";

export interface WriteContext {
  /** Unix seconds: the leader's timestamp under Raft. */
  readonly nowSeconds: number;
  /** The cas a version made by this write takes. */
  readonly cas: bigint;
  readonly itemSizeMaxBytes: number;
}

/** What to do to the stored item: nothing, a new version, or remove it. */
export type Change =
  | { readonly kind: "none" }
  | { readonly kind: "put"; readonly record: ItemRecord }
  | { readonly kind: "delete" };

/**
 * What the write means for the node's access bookkeeping: none, "update"
 * (the access time only, as memcached's do_item_update) or "fetch" (fetched
 * and access time, as do_item_bump).
 */
export type AccessEffect = "none" | "update" | "fetch";

export interface WriteOutcome<Result> {
  readonly result: Result;
  readonly change: Change;
  readonly access: AccessEffect;
}

const unchanged: Change = { kind: "none" };
const removed: Change = { kind: "delete" };
const uint64Modulus = 1n << 64n;

function put(record: ItemRecord): Change {
  return { kind: "put", record };
}

function outcome<Result>(
  result: Result,
  change: Change = unchanged,
  access: AccessEffect = "none",
) {
  return { result, change, access };
}

function newRecord(
  value: Buffer,
  flags: number,
  exptime: number,
  context: WriteContext,
  keyBinary: boolean,
): ItemRecord {
  return {
    value,
    flags,
    exptime,
    cas: context.cas,
    writeTime: context.nowSeconds,
    stale: false,
    tokenSent: false,
    keyBinary,
  };
}

const notStored: StoreResult = { status: "not_stored", cas: 0n };
const exists: StoreResult = { status: "exists", cas: 0n };
const notFound: StoreResult = { status: "not_found", cas: 0n };

/** set/add/replace/append/prepend/cas and their meta forms. */
export function applyStore(
  old: ItemRecord | undefined,
  request: StoreRequest,
  context: WriteContext,
): WriteOutcome<StoreResult> {
  const keyBinary = request.keyBinary === true;
  switch (request.mode) {
    case "add":
      // memcached moves the existing item's access time on a failed add.
      if (old !== undefined) return outcome(notStored, unchanged, "update");
      break;
    case "replace":
      if (old === undefined) return outcome(notStored);
      break;
    case "append":
    case "prepend": {
      if (old === undefined) return outcome(notStored);
      if (request.cas !== 0n && request.cas !== old.cas) return outcome(exists);
      const parts =
        request.mode === "append" ? [old.value, request.value] : [request.value, old.value];
      const value = Buffer.concat(parts);
      if (itemTotalBytes(request.key.length, value.length, old.flags) > context.itemSizeMaxBytes) {
        return outcome(notStored);
      }
      return stored(newRecord(value, old.flags, old.exptime, context, keyBinary));
    }
    case "cas":
      if (old === undefined) return outcome(notFound);
      if (request.cas === old.cas) break;
      if (request.invalidate === true && request.cas < old.cas) {
        // A slower writer's value: kept, marked stale, under the old TTL.
        const record = newRecord(request.value, request.flags, old.exptime, context, keyBinary);
        return stored({ ...record, stale: true, tokenSent: old.tokenSent });
      }
      return outcome(exists);
    case "set":
      break;
  }
  const exptime = absoluteExptime(request.exptime, context.nowSeconds);
  return stored(newRecord(request.value, request.flags, exptime, context, keyBinary));
}

function stored(record: ItemRecord): WriteOutcome<StoreResult> {
  return outcome({ status: "stored", cas: record.cas }, put(record));
}

/** delete and md (with C compare and I invalidate). */
export function applyDelete(
  old: ItemRecord | undefined,
  request: DeleteRequest,
  context: WriteContext,
): WriteOutcome<DeleteStatus> {
  if (old === undefined) return outcome("not_found");
  if (request.cas !== undefined && request.cas !== old.cas) return outcome("exists");
  if (request.invalidate !== true) return outcome("deleted", removed);
  const exptime =
    request.touchExptime === undefined
      ? old.exptime
      : absoluteExptime(request.touchExptime, context.nowSeconds);
  return outcome(
    "deleted",
    put({ ...old, exptime, stale: true, tokenSent: false, cas: context.cas }),
  );
}

/** touch and the touch of gat/gats: a new exptime, the same cas. */
export function applyTouch(
  old: ItemRecord | undefined,
  exptime: number,
  context: WriteContext,
): WriteOutcome<ItemRecord | undefined> {
  if (old === undefined) return outcome(undefined);
  const touched = { ...old, exptime: absoluteExptime(exptime, context.nowSeconds) };
  return outcome(touched, put(touched), "fetch");
}

function arithmeticFailure(status: ArithmeticResult["status"]): ArithmeticResult {
  return { status, value: 0n, cas: 0n, ttl: -1, created: false };
}

const arithmeticNotFound = arithmeticFailure("not_found");
const arithmeticNonNumeric = arithmeticFailure("non_numeric");
const arithmeticExists = arithmeticFailure("exists");

/** incr/decr and ma (with N vivify, J initial, C compare, T touch). */
export function applyArithmetic(
  old: ItemRecord | undefined,
  request: ArithmeticRequest,
  context: WriteContext,
): WriteOutcome<ArithmeticResult> {
  let record: ItemRecord;
  let value: bigint;
  const created = old === undefined;
  if (old === undefined) {
    if (request.vivifyExptime === undefined) return outcome(arithmeticNotFound);
    value = request.initial ?? 0n;
    record = newRecord(Buffer.from(value.toString(), "latin1"), 0, neverExpires, context, false);
  } else {
    if (old.value.length === 0) return outcome(arithmeticNonNumeric);
    const cas = request.cas ?? 0n;
    if (cas !== 0n && cas !== old.cas) return outcome(arithmeticExists);
    const current = parseUint64(old.value, 0, old.value.length);
    if (current === undefined) return outcome(arithmeticNonNumeric);
    if (request.incr) value = (current + request.delta) % uint64Modulus;
    else value = current > request.delta ? current - request.delta : 0n;
    const digits = decimalPadded(value, old.value.length);
    record = newRecord(digits, old.flags, old.exptime, context, old.keyBinary);
  }
  let ttl = -1;
  let exptime = record.exptime;
  for (const effect of request.effectOrder ?? "") {
    if (effect === "t") ttl = ttlSeconds(exptime, context.nowSeconds);
    else if (effect === "T") exptime = absoluteExptime(request.touchExptime!, context.nowSeconds);
    else if (effect === "N" && created)
      exptime = absoluteExptime(request.vivifyExptime!, context.nowSeconds);
  }
  if (exptime !== record.exptime) record = { ...record, exptime };
  return outcome({ status: "ok", value, cas: record.cas, ttl, created }, put(record));
}

/**
 * memcached rewrites a shorter incr/decr result in place, padded with spaces
 * to the old length ("10" decr 1 reads back as "9 "); a longer one gets a
 * new item. Clients can see the padding, so it is kept.
 */
function decimalPadded(value: bigint, oldLength: number): Buffer {
  const digits = value.toString();
  return Buffer.from(digits.length >= oldLength ? digits : digits.padEnd(oldLength, " "), "latin1");
}

/** mg's effects on the item, given what the node recorded about its reads. */
export interface MetaGetEffects {
  /** The item after the command; undefined on a miss. */
  readonly item: ItemRecord | undefined;
  readonly ttl: number;
  readonly won: boolean;
  readonly alreadyWon: boolean;
  readonly stale: boolean;
  readonly touched: boolean;
}

/**
 * mg: vivify on a miss (N), touch (T), the recache win (R) and the win on a
 * stale item, acting in the order the flags were given; `t` reports the TTL
 * as of its position. The change is "none" when the command only reads.
 */
export function applyMetaGet(
  old: ItemRecord | undefined,
  request: MetaGetRequest,
  context: WriteContext,
): WriteOutcome<MetaGetEffects> {
  const now = context.nowSeconds;
  let item = old;
  const created = item === undefined && request.vivifyExptime !== undefined;
  if (item === undefined) {
    if (!created) return outcome(metaGetMiss);
    item = newRecord(emptyValue, 0, neverExpires, context, request.keyBinary);
  }
  let exptime = item.exptime;
  let won = false;
  let touched = false;
  let ttl = -1;
  for (const effect of request.effectOrder) {
    switch (effect) {
      case "T":
        exptime = absoluteExptime(request.touchExptime!, now);
        touched = true;
        break;
      case "N":
        if (created) {
          exptime = absoluteExptime(request.vivifyExptime!, now);
          won = true;
        }
        break;
      case "R": {
        const recacheBefore = absoluteExptime(request.recacheExptime!, now);
        const expiresSoon = exptime !== neverExpires && exptime < recacheBefore;
        if (!item.tokenSent && !created && expiresSoon) won = true;
        break;
      }
      case "t":
        ttl = ttlSeconds(exptime, now);
        break;
    }
  }
  const alreadyWon = item.tokenSent;
  if (item.stale && !alreadyWon) won = true;
  const tokenSent = item.tokenSent || won;
  const changed = created || exptime !== item.exptime || tokenSent !== item.tokenSent;
  if (changed) item = { ...item, exptime, tokenSent };
  const access: AccessEffect = request.noBump ? "none" : "fetch";
  const result = { item, ttl, won, alreadyWon, stale: item.stale, touched };
  return outcome(result, changed ? put(item) : unchanged, access);
}

const emptyValue = Buffer.alloc(0);
const metaGetMiss: MetaGetEffects = {
  item: undefined,
  ttl: -1,
  won: false,
  alreadyWon: false,
  stale: false,
  touched: false,
};
