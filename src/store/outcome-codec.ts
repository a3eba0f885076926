// The outcome of an applied entry as bytes, for the node that forwarded the
// command to the leader and must answer its client.
//
//   0     u8  version (1)
//   1     u8  kind: 0 none (a no-op), 1 store, 2 delete, 3 arithmetic, 4 touch, 5 flush_all, 6 meta_get
//   2..   the result, fixed-width little-endian; items as a u32 length then
//         the item encoding (item-codec.ts), length 0 for none

import { MemraftError } from "../util/errors.js";
import type { ItemRecord } from "./item.js";
import { decodeItem, encodeItem } from "./item-codec.js";
import type { ApplyOutcome } from "./state-machine.js";
import type { ArithmeticResult, DeleteStatus, StoreStatus } from "./store.js";

const version = 1;
const storeStatuses: readonly StoreStatus[] = [
  "stored",
  "not_stored",
  "exists",
  "not_found",
  "no_memory",
];
const deleteStatuses: readonly DeleteStatus[] = ["deleted", "not_found", "exists"];
const arithmeticStatuses: readonly ArithmeticResult["status"][] = [
  "ok",
  "not_found",
  "non_numeric",
  "exists",
  "no_memory",
];
const kinds = ["store", "delete", "arithmetic", "touch", "flush_all", "meta_get"] as const;

function itemBytes(record: ItemRecord | undefined): Buffer {
  const encoded = record === undefined ? Buffer.alloc(0) : encodeItem(record);
  const bytes = Buffer.allocUnsafe(4 + encoded.length);
  bytes.writeUInt32LE(encoded.length);
  encoded.copy(bytes, 4);
  return bytes;
}

export function encodeOutcome(outcome: ApplyOutcome | undefined): Buffer {
  const head = Buffer.from([version, outcome === undefined ? 0 : kinds.indexOf(outcome.kind) + 1]);
  if (outcome === undefined) return head;
  switch (outcome.kind) {
    case "store": {
      const body = Buffer.allocUnsafe(9);
      body[0] = storeStatuses.indexOf(outcome.result.status);
      body.writeBigUInt64LE(outcome.result.cas, 1);
      return Buffer.concat([head, body]);
    }
    case "delete":
      return Buffer.concat([head, Buffer.from([deleteStatuses.indexOf(outcome.result)])]);
    case "arithmetic": {
      const { status, value, cas, ttl, created } = outcome.result;
      const body = Buffer.allocUnsafe(26);
      body[0] = arithmeticStatuses.indexOf(status);
      body.writeBigUInt64LE(value, 1);
      body.writeBigUInt64LE(cas, 9);
      body.writeDoubleLE(ttl, 17);
      body[25] = created ? 1 : 0;
      return Buffer.concat([head, body]);
    }
    case "touch":
      return Buffer.concat([head, itemBytes(outcome.result)]);
    case "flush_all":
      return head;
    case "meta_get": {
      const { item, ttl, won, alreadyWon, stale, touched } = outcome.result;
      const flags = (won ? 1 : 0) | (alreadyWon ? 2 : 0) | (stale ? 4 : 0) | (touched ? 8 : 0);
      const body = Buffer.allocUnsafe(9);
      body.writeDoubleLE(ttl, 0);
      body[8] = flags;
      return Buffer.concat([head, body, itemBytes(item)]);
    }
  }
}

export function decodeOutcome(bytes: Buffer): ApplyOutcome | undefined {
  const fail = (reason: string): never => {
    throw new MemraftError("ERR_CORRUPTION", `forwarded outcome: ${reason}`);
  };
  if (bytes.length < 2 || bytes[0] !== version) fail(`version ${bytes[0]}`);
  const item = (at: number): ItemRecord | undefined => {
    const length = bytes.readUInt32LE(at);
    return length === 0
      ? undefined
      : decodeItem(bytes.subarray(at + 4, at + 4 + length), "forwarded outcome");
  };
  switch (kinds[bytes[1]! - 1]) {
    case undefined:
      return bytes[1] === 0 ? undefined : fail(`kind ${bytes[1]}`);
    case "store":
      return {
        kind: "store",
        result: {
          status: storeStatuses[bytes[2]!] ?? fail("store status"),
          cas: bytes.readBigUInt64LE(3),
        },
      };
    case "delete":
      return { kind: "delete", result: deleteStatuses[bytes[2]!] ?? fail("delete status") };
    case "arithmetic":
      return {
        kind: "arithmetic",
        result: {
          status: arithmeticStatuses[bytes[2]!] ?? fail("arithmetic status"),
          value: bytes.readBigUInt64LE(3),
          cas: bytes.readBigUInt64LE(11),
          ttl: bytes.readDoubleLE(19),
          created: bytes[27] === 1,
        },
      };
    case "touch":
      return { kind: "touch", result: item(2) };
    case "flush_all":
      return { kind: "flush_all" };
    case "meta_get": {
      const flags = bytes[10]!;
      return {
        kind: "meta_get",
        result: {
          ttl: bytes.readDoubleLE(2),
          won: (flags & 1) !== 0,
          alreadyWon: (flags & 2) !== 0,
          stale: (flags & 4) !== 0,
          touched: (flags & 8) !== 0,
          item: item(11),
        },
      };
    }
  }
}

/** An item, or none, as bytes (forwarded reads). */
export function encodeOptionalItem(record: ItemRecord | undefined): Buffer {
  return itemBytes(record);
}

export function decodeOptionalItem(bytes: Buffer): ItemRecord | undefined {
  const length = bytes.readUInt32LE(0);
  return length === 0 ? undefined : decodeItem(bytes.subarray(4, 4 + length), "forwarded read");
}
