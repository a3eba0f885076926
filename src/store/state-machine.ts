// The memcached state machine of a replicated group: applies committed log
// entries (entry-codec.ts) to the group's item table, deterministically.
// Apply never reads the clock: "now" is the leader's timestamp in the entry,
// never earlier than any entry before it (a new leader's clock may be
// behind); a new version's cas is the entry's log index, with the group's
// generation in the high bits; flush_all is a watermark. The clock, the
// watermark and the state hash are kept in the table itself, in one record
// written atomically with each run of entries applied, so a replica that
// replays the log from its last flush reaches the same state as one that
// never stopped.
//
// The semantics are memcached's, from semantics.ts, shared with the memory
// engine. Reads (get, and mg without effects) do not go through the log:
// they look at the applied state with the reader's clock.
//
// REQUIRES: apply calls (apply, applyAll) are made one at a time, in log
// order.

import { assert } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import { decodeStoreEntry, type StoreCommand } from "./entry-codec.js";
import { absoluteExptime } from "./exptime.js";
import { type FlushState, type ItemRecord, isLive, noFlush } from "./item.js";
import { decodeItem, encodeItem } from "./item-codec.js";
import {
  applyArithmetic,
  applyDelete,
  applyMetaGet,
  applyStore,
  applyTouch,
  type MetaGetEffects,
  type WriteContext,
  type WriteOutcome,
} from "./semantics.js";
import { hashValue, StateHash } from "./state-hash.js";
import type { ArithmeticResult, DeleteStatus, MaybePromise, StoreResult } from "./store.js";

/** Changes to the table: a new value per key, or undefined to delete it. */
export type TableChanges = ReadonlyMap<string, Buffer | undefined>;

/** What the state machine needs from its storage engine. */
export interface ItemTable {
  /**
   * The stored bytes of `key`, never changed afterwards by the table; a
   * value rather than a promise when they are in memory.
   */
  get(key: string): MaybePromise<Buffer | undefined>;
  /**
   * Makes `changes` atomically, recording that the table now covers log
   * index `appliedIndex` (a flush persists that with the data it covers).
   * Settles once later reads see the changes.
   */
  write(appliedIndex: number, changes: TableChanges): Promise<void>;
}

/**
 * Keys memraft keeps for itself. memcached keys are at most 250 bytes, so
 * no client can name a key of 251 bytes or more.
 */
const reservedPrefix = "\u0000".repeat(251);
const stateKey = `${reservedPrefix}state`;
/** The owner's membership record (opaque here), kept with the data it belongs to. */
const membershipKey = `${reservedPrefix}membership`;
const stateVersion = 1;

/** What the state machine keeps about itself, besides items (changed in place: it moves with every entry). */
interface MachineState {
  flush: FlushState;
  /** The latest "now" applied, unix seconds: apply never goes back in time. */
  clockSeconds: number;
  /**
   * A chain hash of every change applied, up to entry `hashIndex`
   * (state-hash.ts, two 32-bit lanes): replicas that applied the same
   * entries the same way have the same hash there.
   */
  hashLo: number;
  hashHi: number;
  hashIndex: number;
}

/** Recent (index, hash) pairs kept for comparing with other replicas. */
const recentHashesMax = 4096;

/** The outcome of applying one entry, for the client that proposed it. */
export type ApplyOutcome =
  | { readonly kind: "store"; readonly result: StoreResult }
  | { readonly kind: "delete"; readonly result: DeleteStatus }
  | { readonly kind: "arithmetic"; readonly result: ArithmeticResult }
  | { readonly kind: "touch"; readonly result: ItemRecord | undefined }
  | { readonly kind: "flush_all" }
  | { readonly kind: "meta_get"; readonly result: MetaGetEffects };

/**
 * One committed entry to apply: a store command (an empty payload is a
 * no-op), or a new membership record of the owner's (a configuration change).
 */
export type MachineEntry =
  | { readonly index: number; readonly payload: Uint8Array; readonly membership?: undefined }
  | { readonly index: number; readonly membership: Buffer };

export interface StateMachineOptions {
  readonly itemSizeMaxBytes: number;
  /** Set in the cas's high bits; raised if keys ever move between groups. */
  readonly casGeneration: number;
}

const casIndexBits = 48n;

export class StoreStateMachine {
  private state: MachineState = {
    flush: noFlush,
    clockSeconds: 0,
    hashLo: 0,
    hashHi: 0,
    hashIndex: 0,
  };
  private lastApplied = 0;
  /** recentHashes*[index % recentHashesMax]: the hash after entry `index`. */
  private readonly recentIndexes = new Float64Array(recentHashesMax).fill(-1);
  private readonly recentLo = new Uint32Array(recentHashesMax);
  private readonly recentHi = new Uint32Array(recentHashesMax);
  private readonly hash = new StateHash();
  /**
   * The changes of the entries being applied, last value per key: they
   * reach the table as one write (a new map per run, so the table may keep
   * it), and later entries of the same run read them here first.
   */
  private pending = new Map<string, Buffer | undefined>();
  private membershipRecord: Buffer | undefined;

  private constructor(
    private readonly table: ItemTable,
    private readonly options: StateMachineOptions,
  ) {
    assert(
      options.casGeneration >= 0 && options.casGeneration < 65536,
      "cas generation is 16 bits",
    );
  }

  /** Loads the flush watermark the table holds. */
  static async open(table: ItemTable, options: StateMachineOptions): Promise<StoreStateMachine> {
    const machine = new StoreStateMachine(table, options);
    const stored = await table.get(stateKey);
    if (stored !== undefined) machine.state = decodeState(stored);
    machine.membershipRecord = await table.get(membershipKey);
    return machine;
  }

  /**
   * The membership record as of the applied state: what the owner stored
   * with a membership entry, durable with the data (a restart resumes from it).
   */
  get membership(): Buffer | undefined {
    return this.membershipRecord;
  }

  /** The cas a version written by the entry at `index` takes. */
  casOf(index: number): bigint {
    return (BigInt(this.options.casGeneration) << casIndexBits) | BigInt(index);
  }

  /** Applies the entry at `index`; entries without a payload (no-ops) change only the hash. */
  async apply(index: number, payload: Uint8Array): Promise<ApplyOutcome | undefined> {
    return (await this.applyAll([{ index, payload }]))[0];
  }

  /**
   * Applies consecutive committed entries, in order, as one write to the
   * table (one state record for all of them): the same state, outcomes and
   * hashes as applying them one at a time, at a fraction of the cost. The
   * table covers all of them or none.
   */
  async applyAll(entries: readonly MachineEntry[]): Promise<(ApplyOutcome | undefined)[]> {
    const outcomes: (ApplyOutcome | undefined)[] = [];
    if (entries.length === 0) return outcomes;
    const pending = new Map<string, Buffer | undefined>();
    this.pending = pending;
    for (const entry of entries) {
      const index = entry.index;
      assert(index > this.lastApplied, () => `apply ${index} after ${this.lastApplied}`);
      this.lastApplied = index;
      this.hash.begin(this.state.hashLo, this.state.hashHi, index);
      if (entry.membership !== undefined) {
        this.membershipRecord = entry.membership;
        this.change(membershipKey, entry.membership);
        outcomes.push(undefined);
      } else {
        const outcome =
          entry.payload.length === 0 ? undefined : this.applyPayload(index, entry.payload);
        // Most entries apply at once: an await for each would cost a microtask per entry.
        outcomes.push(outcome instanceof Promise ? await outcome : outcome);
      }
      this.endHash(index);
    }
    pending.set(stateKey, encodeState(this.state));
    await this.table.write(this.lastApplied, pending);
    return outcomes;
  }

  /** The state hash after entry `index`, if it is recent enough to be remembered. */
  hashAt(index: number): bigint | undefined {
    const slot = index % recentHashesMax;
    if (this.recentIndexes[slot] !== index) return undefined;
    return hashValue(this.recentLo[slot]!, this.recentHi[slot]!);
  }

  /** The state hash after the last applied entry. */
  get latestHash(): { readonly index: number; readonly hash: bigint } {
    return { index: this.state.hashIndex, hash: hashValue(this.state.hashLo, this.state.hashHi) };
  }

  private applyPayload(index: number, payload: Uint8Array): MaybePromise<ApplyOutcome> {
    const entry = decodeStoreEntry(
      Buffer.from(payload.buffer, payload.byteOffset, payload.length),
      `entry ${index}`,
    );
    const nowSeconds = Math.floor(entry.timestampMs / 1000);
    if (nowSeconds > this.state.clockSeconds) this.state.clockSeconds = nowSeconds;
    const context: WriteContext = {
      nowSeconds: this.state.clockSeconds,
      cas: this.casOf(index),
      itemSizeMaxBytes: this.options.itemSizeMaxBytes,
    };
    this.activateDueFlush(context);
    return this.applyCommand(entry.command, context);
  }

  /** Takes a change into the pending write and into the entry's hash. */
  private change(key: string, value: Buffer | undefined): void {
    this.pending.set(key, value);
    const hash = this.hash;
    hash.number(key.length);
    hash.number(value === undefined ? -1 : value.length);
    hash.latin1(key);
    if (value !== undefined) hash.bytes(value);
  }

  private endHash(index: number): void {
    const hash = this.hash;
    hash.end();
    this.state.hashLo = hash.lo;
    this.state.hashHi = hash.hi;
    this.state.hashIndex = index;
    const slot = index % recentHashesMax;
    this.recentIndexes[slot] = index;
    this.recentLo[slot] = hash.lo;
    this.recentHi[slot] = hash.hi;
  }

  /** A live item as of `nowSeconds`, from the applied state; undefined if absent, expired or flushed. */
  read(key: string, nowSeconds: number): MaybePromise<ItemRecord | undefined> {
    const stored = this.table.get(key);
    if (stored instanceof Promise)
      return stored.then((bytes) => this.liveItem(key, bytes, nowSeconds));
    try {
      return this.liveItem(key, stored, nowSeconds);
    } catch (error) {
      // A damaged item fails the read the way a damaged block does.
      return Promise.reject(error);
    }
  }

  private liveItem(
    key: string,
    stored: Buffer | undefined,
    nowSeconds: number,
  ): ItemRecord | undefined {
    if (stored === undefined) return undefined;
    const record = decodeItem(stored, () => `key ${JSON.stringify(key)}`);
    return isLive(record, this.state.flush, nowSeconds) ? record : undefined;
  }

  /** The flush watermark, for the compaction filter that drops flushed items. */
  get flushState(): FlushState {
    return this.state.flush;
  }

  /** A value, not a promise, when the item it looks at is in memory (a plain set looks at none). */
  private applyCommand(command: StoreCommand, context: WriteContext): MaybePromise<ApplyOutcome> {
    switch (command.kind) {
      case "store": {
        const { request } = command;
        const key = request.key;
        // A plain set replaces whatever is there: it need not look.
        if (request.mode === "set")
          return {
            kind: "store",
            result: this.record(key, applyStore(undefined, request, context)),
          };
        return this.withCurrent(key, context, (old) => ({
          kind: "store",
          result: this.record(key, applyStore(old, request, context)),
        }));
      }
      case "delete": {
        const { request } = command;
        return this.withCurrent(request.key, context, (old) => ({
          kind: "delete",
          result: this.record(request.key, applyDelete(old, request, context)),
        }));
      }
      case "arithmetic": {
        const { request } = command;
        return this.withCurrent(request.key, context, (old) => ({
          kind: "arithmetic",
          result: this.record(request.key, applyArithmetic(old, request, context)),
        }));
      }
      case "touch":
        return this.withCurrent(command.key, context, (old) => ({
          kind: "touch",
          result: this.record(command.key, applyTouch(old, command.exptime, context)),
        }));
      case "meta_get": {
        const { request } = command;
        return this.withCurrent(request.key, context, (old) => ({
          kind: "meta_get",
          result: this.record(request.key, applyMetaGet(old, request, context)),
        }));
      }
      case "flush_all":
        this.applyFlushAll(command.delay, context);
        return { kind: "flush_all" };
    }
  }

  /** Runs `then` on the live item under `key` (this run's pending changes first), at once when it is in memory. */
  private withCurrent(
    key: string,
    context: WriteContext,
    then: (old: ItemRecord | undefined) => ApplyOutcome,
  ): MaybePromise<ApplyOutcome> {
    const stored = this.pending.has(key) ? this.pending.get(key) : this.table.get(key);
    if (stored instanceof Promise)
      return stored.then((bytes) => then(this.liveItem(key, bytes, context.nowSeconds)));
    return then(this.liveItem(key, stored, context.nowSeconds));
  }

  private record<Result>(key: string, outcome: WriteOutcome<Result>): Result {
    const change = outcome.change;
    if (change.kind === "put") this.change(key, encodeItem(change.record));
    else if (change.kind === "delete") this.change(key, undefined);
    return outcome.result;
  }

  /** memcached activates a delayed flush one second before its deadline. */
  private applyFlushAll(delay: number, context: WriteContext): void {
    const activation = delay > 0 ? absoluteExptime(delay, context.nowSeconds) - 1 : 0;
    if (activation > context.nowSeconds)
      this.state.flush = { casBelow: this.state.flush.casBelow, deadline: activation };
    else this.state.flush = { casBelow: context.cas, deadline: 0 };
  }

  /**
   * A delayed flush whose time has come becomes a cas watermark at the first
   * entry at or after its deadline: everything written before is gone.
   */
  private activateDueFlush(context: WriteContext): void {
    const { deadline } = this.state.flush;
    if (deadline !== 0 && context.nowSeconds >= deadline) {
      this.state.flush = { casBelow: context.cas, deadline: 0 };
    }
  }
}

//   0      u8   version (1; never renumber)
//   1..8   u64  flush casBelow
//   9..12  u32  flush deadline, unix seconds (0 = none)
//   13..16 u32  clock, unix seconds
//   17..24 u64  state hash (lane lo, then lane hi: one little-endian u64)
//   25..32 u64  index of the entry the hash covers
const stateBytes = 33;

function encodeState(state: MachineState): Buffer {
  const bytes = Buffer.alloc(stateBytes);
  bytes[0] = stateVersion;
  bytes.writeBigUInt64LE(state.flush.casBelow, 1);
  bytes.writeUInt32LE(state.flush.deadline, 9);
  bytes.writeUInt32LE(state.clockSeconds, 13);
  bytes.writeUInt32LE(state.hashLo, 17);
  bytes.writeUInt32LE(state.hashHi, 21);
  bytes.writeBigUInt64LE(BigInt(state.hashIndex), 25);
  return bytes;
}

function decodeState(bytes: Buffer): MachineState {
  if (bytes.length !== stateBytes || bytes[0] !== stateVersion) {
    throw new MemraftError(
      "ERR_CORRUPTION",
      `state machine record: expected ${stateBytes} bytes of version ${stateVersion}, found ${bytes.length} bytes of version ${bytes[0]}`,
    );
  }
  return {
    flush: { casBelow: bytes.readBigUInt64LE(1), deadline: bytes.readUInt32LE(9) },
    clockSeconds: bytes.readUInt32LE(13),
    hashLo: bytes.readUInt32LE(17),
    hashHi: bytes.readUInt32LE(21),
    hashIndex: Number(bytes.readBigUInt64LE(25)),
  };
}
