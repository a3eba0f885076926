// The log file format shared by the write-ahead log and the manifest: LevelDB's
// 32 KiB-block framing (google/leveldb:doc/log_format.md) with Pebble's
// "synced offset" in every chunk header, so that recovery can tell a torn
// tail (bytes written but never synced: drop them) from corruption of bytes
// that were synced (report it).
//
// A file is a sequence of 32 KiB blocks. A record is split into chunks that
// never cross a block boundary:
//
//   +----------+----------+--------+----------------+-------------------+
//   | crc (4)  | len (2)  | type(1)| synced (8)     | payload (len)     |
//   +----------+----------+--------+----------------+-------------------+
//   crc     masked CRC32C (util/crc32c.ts) of type, synced and payload
//   len     payload bytes, little-endian
//   type    FULL, FIRST, MIDDLE or LAST: a record's fragments; or SYNCED, an
//           empty chunk that is no record and only carries its promise;
//           0 never starts a chunk
//   synced  little-endian u64: the writer promises that bytes [0, synced)
//           of this file had been made durable before this chunk was written
//
// A chunk never starts within the last headerBytes - 1 bytes of a block;
// the writer fills them with zeros and the reader skips them.
//
// The first record of every log file is its header:
//
//   magic (8) "mrlsmlog" | version u32 | kind u8 | file number u64
//
// Recovery rule (log-reader.ts): the first bad chunk at offset X is
// corruption when some valid chunk anywhere in the file promises synced > X;
// otherwise the file ends at the last whole record before X (a torn tail).
// A writer that falls idle after a sync appends a SYNCED chunk (without
// syncing it), so that the last synced records are promised too once that
// chunk reaches the disk.

import { assert } from "../util/assert.js";

export const blockBytes = 32 * 1024;
export const headerBytes = 15;

/** Chunk types. On-disk values: never renumber. */
export const ChunkType = {
  full: 1,
  first: 2,
  middle: 3,
  last: 4,
  synced: 5,
} as const;

/** The ASCII bytes "mrlsmlog". */
export const logMagic = Buffer.from("mrlsmlog", "latin1");
export const logFormatVersion = 1;
/** Header record payload bytes: magic, version, kind, file number. */
export const fileHeaderBytes = 8 + 4 + 1 + 8;

/** What a log file holds. On-disk values: never renumber. */
export const LogKind = {
  wal: 1,
  manifest: 2,
} as const;
export type LogKind = (typeof LogKind)[keyof typeof LogKind];

assert(blockBytes > 2 * headerBytes, "a block must hold a header and payload");
assert(blockBytes - headerBytes < 65536, "chunk length fits two bytes");
assert(fileHeaderBytes + headerBytes <= blockBytes, "the file header fits the first block");
