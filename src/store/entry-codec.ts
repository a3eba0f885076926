// Store commands as Raft entry payloads. An entry carries one mutating
// command and the leader's timestamp; applying it on any replica gives the
// same result, because the timestamp stands in for "now" and the entry's
// index for the new cas. The log frames and checksums entries; this layer is
// versioned and rejects anything it cannot read.
//
//   0     u8   format version (1; never renumber)
//   1     u8   operation (Operation below; never renumber)
//   2..9  u64  leader timestamp, unix milliseconds
//   10..  the operation's fields, fixed-width little-endian, keys and
//         values as u16/u32 length-prefixed bytes, optional numbers as a
//         presence byte then the number.

import type { StorageMode } from "../protocol/commands.js";
import { MemraftError } from "../util/errors.js";
import type { ArithmeticRequest, DeleteRequest, MetaGetRequest, StoreRequest } from "./store.js";

const formatVersion = 1;

/** Operation codes on disk: never renumber, retire instead. */
enum Operation {
  Store = 1,
  Delete = 2,
  Arithmetic = 3,
  Touch = 4,
  FlushAll = 5,
  MetaGet = 6,
}

const storageModes: readonly StorageMode[] = ["set", "add", "replace", "append", "prepend", "cas"];

export type StoreCommand =
  | { readonly kind: "store"; readonly request: StoreRequest }
  | { readonly kind: "delete"; readonly request: DeleteRequest }
  | { readonly kind: "arithmetic"; readonly request: ArithmeticRequest }
  | { readonly kind: "touch"; readonly key: string; readonly exptime: number }
  | { readonly kind: "flush_all"; readonly delay: number }
  | { readonly kind: "meta_get"; readonly request: MetaGetRequest };

export interface StoreEntry {
  /** The leader's clock when it proposed the entry, unix milliseconds. */
  readonly timestampMs: number;
  readonly command: StoreCommand;
}

class Writer {
  private bytes: Buffer;
  length = 0;

  /** `capacity`: the expected size, so that a usual entry is written without growing. */
  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + count));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.length = this.bytes.writeUInt32LE(value, this.length);
  }

  i32(value: number): void {
    this.reserve(4);
    this.length = this.bytes.writeInt32LE(value, this.length);
  }

  u64(value: bigint): void {
    this.reserve(8);
    this.length = this.bytes.writeBigUInt64LE(value, this.length);
  }

  optionalI32(value: number | undefined): void {
    this.u8(value === undefined ? 0 : 1);
    if (value !== undefined) this.i32(value);
  }

  key(key: string): void {
    this.reserve(2 + key.length);
    this.length = this.bytes.writeUInt16LE(key.length, this.length);
    this.length += this.bytes.write(key, this.length, "latin1");
  }

  ascii(text: string): void {
    this.u8(text.length);
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, "latin1");
  }

  blob(value: Buffer): void {
    this.u32(value.length);
    this.reserve(value.length);
    value.copy(this.bytes, this.length);
    this.length += value.length;
  }

  done(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}

class Reader {
  private position = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly where: string,
  ) {}

  private need(count: number): void {
    if (this.position + count > this.bytes.length) this.fail(`truncated at byte ${this.position}`);
  }

  fail(reason: string): never {
    throw new MemraftError("ERR_CORRUPTION", `${this.where}: bad store entry: ${reason}`, {
      where: this.where,
    });
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.position++]!;
  }

  bool(): boolean {
    const value = this.u8();
    if (value > 1) this.fail(`flag byte ${value}`);
    return value === 1;
  }

  u32(): number {
    this.need(4);
    const value = this.bytes.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.bytes.readInt32LE(this.position);
    this.position += 4;
    return value;
  }

  u64(): bigint {
    this.need(8);
    const value = this.bytes.readBigUInt64LE(this.position);
    this.position += 8;
    return value;
  }

  optionalI32(): number | undefined {
    return this.bool() ? this.i32() : undefined;
  }

  key(): string {
    this.need(2);
    const length = this.bytes.readUInt16LE(this.position);
    this.position += 2;
    this.need(length);
    const key = this.bytes.toString("latin1", this.position, this.position + length);
    this.position += length;
    return key;
  }

  ascii(): string {
    const length = this.u8();
    this.need(length);
    const text = this.bytes.toString("latin1", this.position, this.position + length);
    this.position += length;
    return text;
  }

  blob(): Buffer {
    const length = this.u32();
    this.need(length);
    // A copy: the value outlives the log's read buffer.
    const value = Buffer.from(this.bytes.subarray(this.position, this.position + length));
    this.position += length;
    return value;
  }

  end(): void {
    if (this.position !== this.bytes.length)
      this.fail(`${this.bytes.length - this.position} bytes left over`);
  }
}

/** Room for every fixed field of an entry, with some to spare. */
const entryFixedBytesMax = 64;

export function encodeStoreEntry(entry: StoreEntry): Buffer {
  const command = entry.command;
  const out = new Writer(
    command.kind === "store"
      ? entryFixedBytesMax + command.request.key.length + command.request.value.length
      : entryFixedBytesMax,
  );
  out.u8(formatVersion);
  out.u8(operationOf(command));
  out.u64(BigInt(entry.timestampMs));
  switch (command.kind) {
    case "store": {
      const r = command.request;
      out.u8(storageModes.indexOf(r.mode));
      out.u32(r.flags);
      out.i32(r.exptime);
      out.u64(r.cas);
      out.u8((r.invalidate === true ? 1 : 0) | (r.keyBinary === true ? 2 : 0));
      out.key(r.key);
      out.blob(r.value);
      break;
    }
    case "delete": {
      const r = command.request;
      out.u8(r.cas === undefined ? 0 : 1);
      if (r.cas !== undefined) out.u64(r.cas);
      out.u8(r.invalidate === true ? 1 : 0);
      out.optionalI32(r.touchExptime);
      out.key(r.key);
      break;
    }
    case "arithmetic": {
      const r = command.request;
      out.u8(r.incr ? 1 : 0);
      out.u64(r.delta);
      out.u64(r.cas ?? 0n);
      out.optionalI32(r.vivifyExptime);
      out.u64(r.initial ?? 0n);
      out.optionalI32(r.touchExptime);
      out.ascii(r.effectOrder ?? "");
      out.key(r.key);
      break;
    }
    case "touch":
      out.i32(command.exptime);
      out.key(command.key);
      break;
    case "flush_all":
      out.i32(command.delay);
      break;
    case "meta_get": {
      const r = command.request;
      out.u8((r.noBump ? 1 : 0) | (r.keyBinary ? 2 : 0));
      out.optionalI32(r.touchExptime);
      out.optionalI32(r.vivifyExptime);
      out.optionalI32(r.recacheExptime);
      out.ascii(r.effectOrder);
      out.key(r.key);
      break;
    }
  }
  return out.done();
}

function operationOf(command: StoreCommand): Operation {
  switch (command.kind) {
    case "store":
      return Operation.Store;
    case "delete":
      return Operation.Delete;
    case "arithmetic":
      return Operation.Arithmetic;
    case "touch":
      return Operation.Touch;
    case "flush_all":
      return Operation.FlushAll;
    case "meta_get":
      return Operation.MetaGet;
  }
}

/** Decodes an entry payload; `where` (e.g. "group 3 index 42") names it in errors. */
export function decodeStoreEntry(bytes: Buffer, where: string): StoreEntry {
  const input = new Reader(bytes, where);
  const version = input.u8();
  if (version !== formatVersion) input.fail(`format version ${version}`);
  const operation = input.u8();
  const timestampMs = Number(input.u64());
  const command = decodeCommand(input, operation);
  input.end();
  return { timestampMs, command };
}

function decodeCommand(input: Reader, operation: number): StoreCommand {
  switch (operation) {
    case Operation.Store: {
      const mode = storageModes[input.u8()] ?? input.fail("storage mode");
      const flags = input.u32();
      const exptime = input.i32();
      const cas = input.u64();
      const bits = input.u8();
      if (bits > 3) input.fail(`store bits ${bits}`);
      const key = input.key();
      const value = input.blob();
      const request: StoreRequest = {
        mode,
        key,
        value,
        flags,
        exptime,
        cas,
        invalidate: (bits & 1) !== 0,
        keyBinary: (bits & 2) !== 0,
      };
      return { kind: "store", request };
    }
    case Operation.Delete: {
      const cas = input.bool() ? input.u64() : undefined;
      const invalidate = input.bool();
      const touchExptime = input.optionalI32();
      return { kind: "delete", request: { key: input.key(), cas, invalidate, touchExptime } };
    }
    case Operation.Arithmetic: {
      const incr = input.bool();
      const delta = input.u64();
      const cas = input.u64();
      const vivifyExptime = input.optionalI32();
      const initial = input.u64();
      const touchExptime = input.optionalI32();
      const effectOrder = input.ascii();
      const key = input.key();
      const request: ArithmeticRequest = {
        key,
        incr,
        delta,
        cas,
        vivifyExptime,
        initial,
        touchExptime,
        effectOrder,
      };
      return { kind: "arithmetic", request };
    }
    case Operation.Touch: {
      const exptime = input.i32();
      return { kind: "touch", key: input.key(), exptime };
    }
    case Operation.FlushAll:
      return { kind: "flush_all", delay: input.i32() };
    case Operation.MetaGet: {
      const bits = input.u8();
      if (bits > 3) input.fail(`meta get bits ${bits}`);
      const touchExptime = input.optionalI32();
      const vivifyExptime = input.optionalI32();
      const recacheExptime = input.optionalI32();
      const effectOrder = input.ascii();
      const key = input.key();
      const request: MetaGetRequest = {
        key,
        noBump: (bits & 1) !== 0,
        keyBinary: (bits & 2) !== 0,
        touchExptime,
        vivifyExptime,
        recacheExptime,
        effectOrder,
      };
      return { kind: "meta_get", request };
    }
    default:
      return input.fail(`operation ${operation}`);
  }
}
