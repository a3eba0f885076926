// The bytes of a slot map, as the metadata group stores it. Encode and decode
// live here together; decode returns a map that passed slotMapDefect, or
// throws a MemraftError with code ERR_CORRUPTION naming the offset and the
// defect. Little-endian throughout.
//
//    0  magic       u32  0x504d534d ("MSMP" on disk: memraft slot map; unlike
//                        zeros and the other memraft magics)
//    4  version     u32  1
//    8  epoch       u64  a safe integer >= 1
//   16  rangeCount  u32  1..slotRangeCountMax
//   20  ranges      rangeCount records of 8 bytes, in slot order:
//                     0  firstSlot  u16
//                     2  lastSlot   u16  (included in the range)
//                     4  groupId    u32
//   20 + 8 * rangeCount
//       crc         u32  masked CRC32C of every byte before it (masked: see
//                        util/crc32c.ts)
//
// Frozen: a new layout gets a new version, and decoders keep reading old ones.

import { assert } from "../util/assert.js";
import { crc32c, maskCrc } from "../util/crc32c.js";
import { MemraftError } from "../util/errors.js";
import { slotRangeCountMax } from "./limits.js";
import { type SlotMap, type SlotRange, slotMapDefect } from "./slot-map.js";

export const slotMapMagic = 0x504d534d;
export const slotMapFormatVersion = 1;
export const slotMapHeaderBytes = 20;
export const slotRangeBytes = 8;
export const slotMapCrcBytes = 4;

/** Bytes that cannot be a slot map this build wrote. */
export class SlotMapCorruption extends MemraftError {
  constructor(
    readonly source: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super("ERR_CORRUPTION", `slot map from ${source} is corrupt at offset ${offset}: ${reason}`, {
      source,
      offset,
      reason,
    });
    this.name = "SlotMapCorruption";
  }
}

/** Bytes of an encoded map with `rangeCount` ranges. */
export function slotMapBytes(rangeCount: number): number {
  return slotMapHeaderBytes + rangeCount * slotRangeBytes + slotMapCrcBytes;
}

/** REQUIRES: `map` is valid (encoding an invalid map is a bug). */
export function encodeSlotMap(map: SlotMap): Buffer {
  assert(
    slotMapDefect(map) === undefined,
    () => `encoding invalid slot map: ${slotMapDefect(map)}`,
  );
  const bytes = Buffer.alloc(slotMapBytes(map.ranges.length));
  bytes.writeUInt32LE(slotMapMagic, 0);
  bytes.writeUInt32LE(slotMapFormatVersion, 4);
  bytes.writeBigUInt64LE(BigInt(map.epoch), 8);
  bytes.writeUInt32LE(map.ranges.length, 16);
  let offset = slotMapHeaderBytes;
  for (const range of map.ranges) {
    bytes.writeUInt16LE(range.firstSlot, offset);
    bytes.writeUInt16LE(range.lastSlot, offset + 2);
    bytes.writeUInt32LE(range.groupId, offset + 4);
    offset += slotRangeBytes;
  }
  bytes.writeUInt32LE(maskCrc(crc32c(bytes, 0, offset)), offset);
  return bytes;
}

/**
 * The slot map in `bytes`, checked; `source` says where the bytes came from
 * (e.g. "metadata group index 42") for the error.
 */
export function decodeSlotMap(bytes: Uint8Array, source: string): SlotMap {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (offset: number, reason: string) => new SlotMapCorruption(source, offset, reason);
  if (view.length < slotMapBytes(0)) {
    throw corrupt(
      view.length,
      `${view.length} bytes, shorter than the ${slotMapBytes(0)}-byte minimum`,
    );
  }
  const magic = view.readUInt32LE(0);
  if (magic !== slotMapMagic)
    throw corrupt(0, `magic is ${hex(magic)}, expected ${hex(slotMapMagic)}`);
  const version = view.readUInt32LE(4);
  if (version !== slotMapFormatVersion) {
    throw corrupt(4, `format version ${version}, this build reads ${slotMapFormatVersion}`);
  }
  const rangeCount = view.readUInt32LE(16);
  if (rangeCount > slotRangeCountMax) {
    throw corrupt(16, `${rangeCount} ranges, more than the ${slotRangeCountMax} slots`);
  }
  const crcOffset = slotMapBytes(rangeCount) - slotMapCrcBytes;
  if (view.length !== crcOffset + slotMapCrcBytes) {
    throw corrupt(
      16,
      `${rangeCount} ranges need ${crcOffset + slotMapCrcBytes} bytes, found ${view.length}`,
    );
  }
  const storedCrc = view.readUInt32LE(crcOffset);
  const actualCrc = maskCrc(crc32c(view, 0, crcOffset));
  if (storedCrc !== actualCrc) {
    throw corrupt(
      crcOffset,
      `checksum ${hex(storedCrc)} does not match the bytes (${hex(actualCrc)})`,
    );
  }
  const epoch = view.readBigUInt64LE(8);
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER))
    throw corrupt(8, `epoch ${epoch} is not a safe integer`);
  const map: SlotMap = { epoch: Number(epoch), ranges: decodeRanges(view, rangeCount) };
  const defect = slotMapDefect(map);
  if (defect !== undefined)
    throw corrupt(slotMapHeaderBytes, `checksum matches, but the map ${defect}`);
  return map;
}

function decodeRanges(view: Buffer, rangeCount: number): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (let index = 0; index < rangeCount; index++) {
    const offset = slotMapHeaderBytes + index * slotRangeBytes;
    ranges.push({
      firstSlot: view.readUInt16LE(offset),
      lastSlot: view.readUInt16LE(offset + 2),
      groupId: view.readUInt32LE(offset + 4),
    });
  }
  return ranges;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
