// An ItemRecord as bytes, the value a durable engine stores under the key.
// The engine's blocks carry their own checksums; this layer only has to be
// unambiguous and versioned.
//
//   0      u8   format version (1; never renumber)
//   1      u8   bits: 0x01 stale, 0x02 token sent, 0x04 key was base64
//   2..5   u32  client flags
//   6..9   u32  exptime, absolute unix seconds, 0 = never
//   10..17 u64  cas
//   18..21 u32  write time, unix seconds
//   22..   the value

import { MemraftError } from "../util/errors.js";
import type { ItemRecord } from "./item.js";

const formatVersion = 1;
const headerBytes = 22;
const staleBit = 0x01;
const tokenSentBit = 0x02;
const keyBinaryBit = 0x04;
const knownBits = staleBit | tokenSentBit | keyBinaryBit;

export function encodeItem(record: ItemRecord): Buffer {
  const bytes = Buffer.allocUnsafe(headerBytes + record.value.length);
  bytes[0] = formatVersion;
  bytes[1] =
    (record.stale ? staleBit : 0) |
    (record.tokenSent ? tokenSentBit : 0) |
    (record.keyBinary ? keyBinaryBit : 0);
  bytes.writeUInt32LE(record.flags, 2);
  bytes.writeUInt32LE(record.exptime, 6);
  bytes.writeBigUInt64LE(record.cas, 10);
  bytes.writeUInt32LE(record.writeTime, 18);
  record.value.copy(bytes, headerBytes);
  return bytes;
}

/**
 * Decodes a stored item; `whereOf` names it in the error if the bytes are
 * not one (a function where naming costs work: every read decodes).
 */
export function decodeItem(bytes: Buffer, whereOf: string | (() => string)): ItemRecord {
  if (bytes.length < headerBytes || bytes[0] !== formatVersion || (bytes[1]! & ~knownBits) !== 0) {
    const where = typeof whereOf === "string" ? whereOf : whereOf();
    throw new MemraftError(
      "ERR_CORRUPTION",
      `${where}: not a memraft item (length ${bytes.length}, version ${bytes[0]}, bits ${bytes[1]})`,
      { where },
    );
  }
  const bits = bytes[1]!;
  return {
    value: bytes.subarray(headerBytes),
    flags: bytes.readUInt32LE(2),
    exptime: bytes.readUInt32LE(6),
    cas: bytes.readBigUInt64LE(10),
    writeTime: bytes.readUInt32LE(18),
    stale: (bits & staleBit) !== 0,
    tokenSent: (bits & tokenSentBit) !== 0,
    keyBinary: (bits & keyBinaryBit) !== 0,
  };
}
