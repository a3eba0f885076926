// The memcached state machine of a replicated group: applies committed log
// entries (entry-codec.ts) to the group's item table, deterministically.
// Apply never reads the clock: "now" is the leader's timestamp in the entry,
// never earlier than any entry before it (a new leader's clock may be
// behind); a new version's cas is the entry's log index, with the group's
// generation in the high bits; flush_all is a watermark. The clock and the
// watermark are kept in the table itself, written with the entries that move
// them, so a replica that replays the log from its last flush reaches the
// same state as one that never stopped.
//
// The semantics are memcached's, from semantics.ts, shared with the memory
// engine. Reads (get, and mg without effects) do not go through the log:
// they look at the applied state with the reader's clock.
//
// REQUIRES: apply() calls are made one at a time, in log order.

import farmhash from "farmhash";
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
import type { ArithmeticResult, DeleteStatus, StoreResult } from "./store.js";

/** A change to the table: a new value, or undefined to delete. */
export interface TableChange {
  readonly key: string;
  readonly value: Buffer | undefined;
}

/** What the state machine needs from its storage engine. */
export interface ItemTable {
  /** The stored bytes of `key`, never changed afterwards by the table. */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Makes `changes` atomically, recording that the table now covers log
   * index `appliedIndex` (a flush persists that with the data it covers).
   * Settles once later reads see the changes.
   */
  write(appliedIndex: number, changes: readonly TableChange[]): Promise<void>;
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

/** What the state machine keeps about itself, besides items. */
interface MachineState {
  readonly flush: FlushState;
  /** The latest "now" applied, unix seconds: apply never goes back in time. */
  readonly clockSeconds: number;
  /**
   * A chain hash of every change applied, up to entry `hashIndex`: replicas
   * that applied the same entries the same way have the same hash there.
   */
  readonly hash: bigint;
  readonly hashIndex: number;
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

export interface StateMachineOptions {
  readonly itemSizeMaxBytes: number;
  /** Set in the cas's high bits; raised if keys ever move between groups. */
  readonly casGeneration: number;
}

const casIndexBits = 48n;

export class StoreStateMachine {
  private state: MachineState = { flush: noFlush, clockSeconds: 0, hash: 0n, hashIndex: 0 };
  private lastApplied = 0;
  private readonly recentHashes = new Map<number, bigint>();
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
   * with applyMembership, durable with the data (a restart resumes from it).
   */
  get membership(): Buffer | undefined {
    return this.membershipRecord;
  }

  /** Applies an entry that changes the owner's membership record (a Raft configuration change). */
  async applyMembership(index: number, record: Buffer): Promise<void> {
    assert(index > this.lastApplied, () => `apply ${index} after ${this.lastApplied}`);
    this.lastApplied = index;
    this.membershipRecord = record;
    const changes: TableChange[] = [{ key: membershipKey, value: record }];
    this.recordHash(index, changes);
    await this.table.write(index, changes);
  }

  /** The cas a version written by the entry at `index` takes. */
  casOf(index: number): bigint {
    return (BigInt(this.options.casGeneration) << casIndexBits) | BigInt(index);
  }

  /** Applies the entry at `index`; entries without a payload (no-ops) change only the hash. */
  async apply(index: number, payload: Uint8Array): Promise<ApplyOutcome | undefined> {
    assert(index > this.lastApplied, () => `apply ${index} after ${this.lastApplied}`);
    this.lastApplied = index;
    const changes: TableChange[] = [];
    const outcome =
      payload.length === 0 ? undefined : await this.applyPayload(index, payload, changes);
    this.recordHash(index, changes);
    await this.table.write(index, changes);
    return outcome;
  }

  /** The state hash after entry `index`, if it is recent enough to be remembered. */
  hashAt(index: number): bigint | undefined {
    return this.recentHashes.get(index);
  }

  /** The state hash after the last applied entry. */
  get latestHash(): { readonly index: number; readonly hash: bigint } {
    return { index: this.state.hashIndex, hash: this.state.hash };
  }

  private async applyPayload(
    index: number,
    payload: Uint8Array,
    changes: TableChange[],
  ): Promise<ApplyOutcome> {
    const entry = decodeStoreEntry(
      Buffer.from(payload.buffer, payload.byteOffset, payload.length),
      `entry ${index}`,
    );
    const nowSeconds = Math.floor(entry.timestampMs / 1000);
    if (nowSeconds > this.state.clockSeconds)
      this.setState({ ...this.state, clockSeconds: nowSeconds }, changes);
    const context: WriteContext = {
      nowSeconds: this.state.clockSeconds,
      cas: this.casOf(index),
      itemSizeMaxBytes: this.options.itemSizeMaxBytes,
    };
    this.activateDueFlush(context, changes);
    return this.applyCommand(entry.command, context, changes);
  }

  /** Folds the entry's changes into the chain hash, and writes the state record with it. */
  private recordHash(index: number, changes: TableChange[]): void {
    const parts: Buffer[] = [];
    const head = Buffer.allocUnsafe(16);
    head.writeBigUInt64LE(this.state.hash, 0);
    head.writeBigUInt64LE(BigInt(index), 8);
    parts.push(head);
    for (const { key, value } of changes) {
      if (key === stateKey) continue;
      const lengths = Buffer.allocUnsafe(8);
      lengths.writeUInt32LE(key.length, 0);
      lengths.writeInt32LE(value === undefined ? -1 : value.length, 4);
      parts.push(lengths, Buffer.from(key, "latin1"));
      if (value !== undefined) parts.push(value);
    }
    const hash = BigInt.asUintN(64, BigInt(farmhash.fingerprint64(Buffer.concat(parts))));
    this.setState({ ...this.state, hash, hashIndex: index }, changes);
    this.recentHashes.set(index, hash);
    if (this.recentHashes.size > recentHashesMax) {
      this.recentHashes.delete(this.recentHashes.keys().next().value!);
    }
  }

  /** A live item as of `nowSeconds`, from the applied state; undefined if absent, expired or flushed. */
  async read(key: string, nowSeconds: number): Promise<ItemRecord | undefined> {
    const stored = await this.table.get(key);
    if (stored === undefined) return undefined;
    const record = decodeItem(stored, `key ${JSON.stringify(key)}`);
    return isLive(record, this.state.flush, nowSeconds) ? record : undefined;
  }

  /** The flush watermark, for the compaction filter that drops flushed items. */
  get flushState(): FlushState {
    return this.state.flush;
  }

  private async applyCommand(
    command: StoreCommand,
    context: WriteContext,
    changes: TableChange[],
  ): Promise<ApplyOutcome> {
    switch (command.kind) {
      case "store": {
        const key = command.request.key;
        const outcome = applyStore(await this.current(key, context), command.request, context);
        return { kind: "store", result: this.record(key, outcome, changes) };
      }
      case "delete": {
        const key = command.request.key;
        const outcome = applyDelete(await this.current(key, context), command.request, context);
        return { kind: "delete", result: this.record(key, outcome, changes) };
      }
      case "arithmetic": {
        const key = command.request.key;
        const outcome = applyArithmetic(await this.current(key, context), command.request, context);
        return { kind: "arithmetic", result: this.record(key, outcome, changes) };
      }
      case "touch": {
        const outcome = applyTouch(
          await this.current(command.key, context),
          command.exptime,
          context,
        );
        return { kind: "touch", result: this.record(command.key, outcome, changes) };
      }
      case "meta_get": {
        const key = command.request.key;
        const outcome = applyMetaGet(await this.current(key, context), command.request, context);
        return { kind: "meta_get", result: this.record(key, outcome, changes) };
      }
      case "flush_all":
        this.applyFlushAll(command.delay, context, changes);
        return { kind: "flush_all" };
    }
  }

  private async current(key: string, context: WriteContext): Promise<ItemRecord | undefined> {
    const stored = await this.table.get(key);
    if (stored === undefined) return undefined;
    const record = decodeItem(stored, `key ${JSON.stringify(key)}`);
    return isLive(record, this.state.flush, context.nowSeconds) ? record : undefined;
  }

  private record<Result>(
    key: string,
    outcome: WriteOutcome<Result>,
    changes: TableChange[],
  ): Result {
    const change = outcome.change;
    if (change.kind === "put") changes.push({ key, value: encodeItem(change.record) });
    else if (change.kind === "delete") changes.push({ key, value: undefined });
    return outcome.result;
  }

  /** memcached activates a delayed flush one second before its deadline. */
  private applyFlushAll(delay: number, context: WriteContext, changes: TableChange[]): void {
    const activation = delay > 0 ? absoluteExptime(delay, context.nowSeconds) - 1 : 0;
    if (activation > context.nowSeconds)
      this.setFlush({ casBelow: this.state.flush.casBelow, deadline: activation }, changes);
    else this.setFlush({ casBelow: context.cas, deadline: 0 }, changes);
  }

  /**
   * A delayed flush whose time has come becomes a cas watermark at the first
   * entry at or after its deadline: everything written before is gone.
   */
  private activateDueFlush(context: WriteContext, changes: TableChange[]): void {
    const { deadline } = this.state.flush;
    if (deadline !== 0 && context.nowSeconds >= deadline) {
      this.setFlush({ casBelow: context.cas, deadline: 0 }, changes);
    }
  }

  private setFlush(flush: FlushState, changes: TableChange[]): void {
    this.setState({ ...this.state, flush }, changes);
  }

  private setState(state: MachineState, changes: TableChange[]): void {
    this.state = state;
    const previous = changes.findIndex((change) => change.key === stateKey);
    if (previous !== -1) changes.splice(previous, 1);
    changes.push({ key: stateKey, value: encodeState(state) });
  }
}

//   0      u8   version (1; never renumber)
//   1..8   u64  flush casBelow
//   9..12  u32  flush deadline, unix seconds (0 = none)
//   13..16 u32  clock, unix seconds
//   17..24 u64  state hash
//   25..32 u64  index of the entry the hash covers
const stateBytes = 33;

function encodeState(state: MachineState): Buffer {
  const bytes = Buffer.alloc(stateBytes);
  bytes[0] = stateVersion;
  bytes.writeBigUInt64LE(state.flush.casBelow, 1);
  bytes.writeUInt32LE(state.flush.deadline, 9);
  bytes.writeUInt32LE(state.clockSeconds, 13);
  bytes.writeBigUInt64LE(state.hash, 17);
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
    hash: bytes.readBigUInt64LE(17),
    hashIndex: Number(bytes.readBigUInt64LE(25)),
  };
}
