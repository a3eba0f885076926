// The SST (sorted string table) file format, after LevelDB's
// doc/table_format.md, with a whole-file bloom filter and a checksummed
// footer. Blocks use block-format.ts and each carries its own trailer.
//
//   +-------------------------------+
//   | data block 0 + trailer        |  entries in key order, each key once
//   | data block 1 + trailer        |
//   | ...                           |
//   | filter block + trailer        |  bloom.ts layout
//   | properties block + trailer    |  below
//   | index block + trailer         |  last key of each data block -> handle
//   | footer (52 bytes)             |
//   +-------------------------------+
//
// Footer, all little-endian:
//
//   0   filter block offset u64,     8  filter block size u32
//   12  properties block offset u64, 20 properties block size u32
//   24  index block offset u64,      32 index block size u32
//   36  format version u32
//   40  masked CRC32C of bytes [0, 40) u32
//   44  magic u64: the ASCII bytes "mrsstbl1"
//
// Data blocks start at offset 0 and follow each other without gaps, so a
// range of consecutive blocks is one contiguous read (compaction feeds).
//
// Properties block contents (varints unless noted):
//
//   entry count, deletion count, smallest key length, smallest key bytes,
//   largest key length, largest key bytes

import { assert } from "../util/assert.js";

export const footerBytes = 52;
export const sstMagic = Buffer.from("mrsstbl1", "latin1");
export const sstFormatVersion = 1;

assert(sstMagic.length === 8, "magic is 8 bytes");
assert(footerBytes === 3 * 12 + 4 + 4 + 8, "footer layout");

export interface SstProperties {
  readonly entryCount: number;
  readonly deletionCount: number;
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
}
