// The block format of SST files (sst-format.ts places the blocks), after
// LevelDB's table/block_builder.cc: keys are prefix-compressed against the
// previous key, with a full key every `restartInterval` entries (a restart
// point) so that a lookup can binary-search the restarts and scan from one.
//
// Block contents:
//
//   entry*  restart offset (u32 LE) * count  count (u32 LE)
//
// entry:
//
//   shared varint      bytes of key shared with the previous key (0 at a restart);
//                      always the longest shared prefix, which point lookups
//                      rely on (Block.findKey)
//   unshared varint    bytes of key that follow
//   valueField varint  valueLength * 2 + kind (entry-kind.ts; a deletion has no value)
//   key delta          `unshared` bytes
//   value              `valueLength` bytes
//
// On disk every block is followed by a trailer:
//
//   type (u8)  masked CRC32C (u32 LE) of contents and type
//
// type 0 means the contents are stored as they are (the only type so far;
// the byte leaves room for compression).
//
// Index blocks use the same layout with a restart at every entry; an index
// value is a block handle: offset varint, size varint (size without trailer).

import { assert } from "../util/assert.js";

export const blockTrailerBytes = 5;
/** Block types. On-disk values: never renumber. */
export const BlockType = {
  plain: 0,
} as const;

/** Most restart points a block may declare (bounds a corrupt count). */
export const restartsMax = 1 << 24;

assert(blockTrailerBytes === 1 + 4, "trailer is type + crc");
