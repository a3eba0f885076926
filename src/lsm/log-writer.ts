// Appends records to a log file (format in log-format.ts). Frames a group of
// records into one buffer and hands it to the file in one append, so a group
// costs one write; sync() is separate so that callers decide which groups
// need an fdatasync (group commit lives in commit-pipeline.ts).
//
// REQUIRES: one append or sync at a time (the callers serialize them).

import type { FileSystem, WritableFile } from "../fs/file-system.js";
import { assert } from "../util/assert.js";
import { crc32c, maskCrc } from "../util/crc32c.js";
import {
  blockBytes,
  ChunkType,
  fileHeaderBytes,
  headerBytes,
  type LogKind,
  logFormatVersion,
  logMagic,
} from "./log-format.js";
import { writeFixed32, writeFixed64 } from "./varint.js";

/** Frames records; pure, so tests can build logs byte by byte. */
export class LogEncoder {
  /** Offset of the next chunk inside the current block. */
  private blockOffset: number;

  constructor(fileBytes = 0) {
    this.blockOffset = fileBytes % blockBytes;
  }

  /** Exact bytes that encoding `payloadBytes` of records would add. */
  private static sizeOf(blockOffset: number, payloadLengths: readonly number[]): number {
    let offset = blockOffset;
    let total = 0;
    for (const payloadLength of payloadLengths) {
      let left = payloadLength;
      let begin = true;
      while (begin || left > 0) {
        const room = blockBytes - offset;
        if (room < headerBytes) {
          total += room;
          offset = 0;
          continue;
        }
        const fragment = Math.min(left, room - headerBytes);
        total += headerBytes + fragment;
        offset += headerBytes + fragment;
        left -= fragment;
        begin = false;
      }
    }
    return total;
  }

  /** A SYNCED chunk promising `syncedBytes` (log-format.ts). */
  encodeMarker(syncedBytes: number): Buffer {
    const room = blockBytes - this.blockOffset;
    const padding = room < headerBytes ? room : 0;
    const out = Buffer.alloc(padding + headerBytes);
    const at = padding;
    out[at + 6] = ChunkType.synced;
    writeFixed64(out, at + 7, syncedBytes);
    writeFixed32(out, at, maskCrc(crc32c(out, at + 6, at + headerBytes)));
    this.blockOffset = (padding > 0 ? 0 : this.blockOffset) + headerBytes;
    return out;
  }

  /**
   * Frames `payloads` as consecutive records that promise `syncedBytes`.
   * Returns the bytes to append.
   */
  encode(payloads: readonly Uint8Array[], syncedBytes: number): Buffer {
    const out = Buffer.allocUnsafe(
      LogEncoder.sizeOf(
        this.blockOffset,
        payloads.map((payload) => payload.length),
      ),
    );
    let position = 0;
    for (const payload of payloads) {
      let start = 0;
      let begin = true;
      while (begin || start < payload.length) {
        const room = blockBytes - this.blockOffset;
        if (room < headerBytes) {
          out.fill(0, position, position + room);
          position += room;
          this.blockOffset = 0;
          continue;
        }
        const fragment = Math.min(payload.length - start, room - headerBytes);
        const end = start + fragment === payload.length;
        const type = begin
          ? end
            ? ChunkType.full
            : ChunkType.first
          : end
            ? ChunkType.last
            : ChunkType.middle;
        out[position + 6] = type;
        writeFixed64(out, position + 7, syncedBytes);
        if (fragment > 0)
          out.set(payload.subarray(start, start + fragment), position + headerBytes);
        out[position + 4] = fragment & 0xff;
        out[position + 5] = fragment >>> 8;
        const crc = crc32c(out, position + 6, position + headerBytes + fragment);
        writeFixed32(out, position, maskCrc(crc));
        position += headerBytes + fragment;
        this.blockOffset += headerBytes + fragment;
        start += fragment;
        begin = false;
      }
    }
    assert(position === out.length, "log framing size mismatch");
    return out;
  }
}

/** The header record of a log file (log-format.ts). */
export function encodeLogHeader(kind: LogKind, fileNumber: number): Buffer {
  const header = Buffer.alloc(fileHeaderBytes);
  logMagic.copy(header, 0);
  writeFixed32(header, 8, logFormatVersion);
  header[12] = kind;
  writeFixed64(header, 13, fileNumber);
  return header;
}

export class LogWriter {
  private readonly encoder: LogEncoder;
  /** Bytes known durable: what the next chunks promise. */
  private syncedBytes = 0;
  /** The promise the last chunk appended carries. */
  private lastPromise = 0;
  private recordsSinceSync = false;
  private busy = false;

  private constructor(readonly file: WritableFile) {
    this.encoder = new LogEncoder(file.size);
  }

  /** Creates `path` and appends its header record (not yet synced). */
  static async create(
    fs: FileSystem,
    path: string,
    kind: LogKind,
    fileNumber: number,
  ): Promise<LogWriter> {
    const writer = new LogWriter(await fs.create(path));
    await writer.append([encodeLogHeader(kind, fileNumber)]);
    return writer;
  }

  get path(): string {
    return this.file.path;
  }

  /** Bytes in the file, synced or not. */
  get size(): number {
    return this.file.size;
  }

  /** True when records were appended after the last sync (markers do not count). */
  get hasUnsyncedRecords(): boolean {
    return this.recordsSinceSync;
  }

  /** Appends `payloads` as records, in one write. The payloads may be reused once this settles. */
  async append(payloads: readonly Uint8Array[]): Promise<void> {
    assert(!this.busy, "log writer: concurrent append or sync");
    this.busy = true;
    try {
      this.lastPromise = this.syncedBytes;
      this.recordsSinceSync = true;
      await this.file.append(this.encoder.encode(payloads, this.syncedBytes));
    } finally {
      this.busy = false;
    }
  }

  /**
   * Appends a SYNCED chunk promising what the last sync made durable, so a
   * reader can tell damage in those records from a torn tail. It is not
   * synced itself: if a crash takes it, the reader knows less, nothing worse.
   */
  async appendMarker(): Promise<void> {
    assert(!this.busy, "log writer: concurrent append or sync");
    if (this.syncedBytes <= this.lastPromise) return;
    this.busy = true;
    this.lastPromise = this.syncedBytes;
    try {
      await this.file.append(this.encoder.encodeMarker(this.syncedBytes));
    } finally {
      this.busy = false;
    }
  }

  /** Makes every record appended so far durable. */
  async sync(): Promise<void> {
    assert(!this.busy, "log writer: concurrent append or sync");
    this.busy = true;
    try {
      const size = this.file.size;
      const records = this.recordsSinceSync;
      this.recordsSinceSync = false;
      try {
        await this.file.sync();
      } catch (error) {
        this.recordsSinceSync = records;
        throw error;
      }
      this.syncedBytes = size;
    } finally {
      this.busy = false;
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
