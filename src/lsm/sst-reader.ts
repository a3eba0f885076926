// An open SST file on the main thread (format in sst-format.ts): footer,
// index, filter and properties are read and checked when it opens; data
// blocks are read on demand, checked, and kept in the block cache.
// Every defect is a CorruptionError with the file and the byte offset.

import type { FileSystem, ReadableFile } from "../fs/file-system.js";
import { assert } from "../util/assert.js";
import { crc32c, unmaskCrc } from "../util/crc32c.js";
import type { BlockCache } from "./block-cache.js";
import { blockTrailerBytes } from "./block-format.js";
import { Block, decodeHandle, verifyBlock } from "./block-reader.js";
import { bloomMayContain } from "./bloom.js";
import { CorruptionError, FormatDefect } from "./corruption-error.js";
import { keyString, lowerBound } from "./keys.js";
import { footerBytes, type SstProperties, sstFormatVersion, sstMagic } from "./sst-format.js";
import { decoded, readFixed32, readFixed64, readVarint } from "./varint.js";

interface Handle {
  offset: number;
  size: number;
}

export class SstReader {
  /** Data block handles, by ordinal. */
  readonly blockOffsets: Float64Array;
  readonly blockSizes: Uint32Array;
  /** The index: block i holds keys <= lastKeys[i] (latin1 strings, compared natively). */
  private readonly lastKeys: string[];
  /** Reads in progress; the file closes when they end if it was evicted meanwhile. */
  private pins = 0;
  private closeRequested = false;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly fileNumber: number,
    readonly tableId: number,
    private readonly file: ReadableFile,
    private readonly index: Block,
    private readonly filter: Uint8Array,
    readonly properties: SstProperties,
    private readonly cache: BlockCache,
    private readonly onCloseError: (error: unknown, path: string) => void,
  ) {
    const count = index.restartCount;
    this.blockOffsets = new Float64Array(count);
    this.blockSizes = new Uint32Array(count);
    this.lastKeys = new Array<string>(count);
    const handle = { offset: 0, size: 0 };
    const data = index.data;
    for (let i = 0; i < count; i++) {
      try {
        const value = restartValueStart(index, i);
        this.lastKeys[i] = keyString(data, value.keyStart, value.start);
        decodeHandle(data, value.start, value.end, handle);
      } catch (error) {
        throw error instanceof FormatDefect
          ? new CorruptionError(path, 0, `index entry ${i}: ${error.reason}`)
          : error;
      }
      const previousEnd =
        i === 0 ? 0 : this.blockOffsets[i - 1]! + this.blockSizes[i - 1]! + blockTrailerBytes;
      if (handle.offset !== previousEnd) {
        throw new CorruptionError(
          path,
          0,
          `index entry ${i} points at ${handle.offset}, expected ${previousEnd}`,
        );
      }
      this.blockOffsets[i] = handle.offset;
      this.blockSizes[i] = handle.size;
    }
  }

  static async open(
    fs: FileSystem,
    path: string,
    fileNumber: number,
    fileBytes: number,
    cache: BlockCache,
    onCloseError: (error: unknown, path: string) => void,
  ): Promise<SstReader> {
    const file = await fs.openRead(path);
    try {
      const size = await file.size();
      if (size !== fileBytes) {
        throw new CorruptionError(
          path,
          Math.min(size, fileBytes),
          `file has ${size} bytes, the manifest says ${fileBytes}`,
        );
      }
      if (size < footerBytes)
        throw new CorruptionError(path, 0, `file of ${size} bytes has no footer`);
      const footerAt = size - footerBytes;
      const footer = await file.read(footerAt, footerBytes);
      const handles = parseFooter(footer, path, footerAt);
      const metaStart = handles.filter.offset;
      const meta = await file.read(metaStart, footerAt - metaStart);
      const section = (handle: Handle, what: string): Uint8Array => {
        const start = handle.offset - metaStart;
        if (start < 0 || handle.offset + handle.size + blockTrailerBytes > footerAt) {
          throw new CorruptionError(path, footerAt, `${what} block handle out of range`);
        }
        try {
          return verifyBlock(meta, start, handle.size);
        } catch (error) {
          if (error instanceof FormatDefect) throw error.inFile(path, handle.offset);
          throw error;
        }
      };
      const filter = section(handles.filter, "filter");
      const properties = parseProperties(
        section(handles.properties, "properties"),
        path,
        handles.properties.offset,
      );
      let index: Block;
      try {
        index = new Block(section(handles.index, "index"));
      } catch (error) {
        if (error instanceof FormatDefect) throw error.inFile(path, handles.index.offset);
        throw error;
      }
      const reader = new SstReader(
        path,
        fileNumber,
        cache.newTableId(),
        file,
        index,
        filter,
        properties,
        cache,
        onCloseError,
      );
      if (reader.blockCount > 0) {
        const lastEnd =
          reader.blockOffsets[reader.blockCount - 1]! +
          reader.blockSizes[reader.blockCount - 1]! +
          blockTrailerBytes;
        if (lastEnd !== metaStart)
          throw new CorruptionError(
            path,
            lastEnd,
            `data blocks end at ${lastEnd}, filter starts at ${metaStart}`,
          );
      }
      return reader;
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  get blockCount(): number {
    return this.blockOffsets.length;
  }

  /** False when the filter proves the key absent. */
  mayContain(hash: number): boolean {
    return bloomMayContain(this.filter, hash);
  }

  /** The ordinal of the only block that may hold `key`, or -1. */
  findBlock(key: Uint8Array): number {
    try {
      const ordinal = this.index.lowerBound(key, 0, key.length);
      return ordinal < this.blockCount ? ordinal : -1;
    } catch (error) {
      throw error instanceof FormatDefect ? error.inFile(this.path, 0) : error;
    }
  }

  /** The ordinal of the only block that may hold the latin1 `key`, or -1 (the point-lookup path). */
  findBlockForKey(key: string): number {
    const ordinal = lowerBound(this.lastKeys, key);
    return ordinal < this.lastKeys.length ? ordinal : -1;
  }

  /** A block if the cache has it; `counted` adds the lookup to the cache's hit rate. */
  cachedBlock(ordinal: number, counted = true): Block | undefined {
    return this.cache.get(this.tableId, ordinal, counted);
  }

  /** Counts a hit for a lookup made uncounted (the caller could not know yet whether it would be retried). */
  countCacheHit(): void {
    this.cache.hits++;
  }

  /** Reads, checks and caches a data block. REQUIRES: pinned. */
  async readBlock(ordinal: number, fillCache = true): Promise<Block> {
    const offset = this.blockOffsets[ordinal]!;
    const size = this.blockSizes[ordinal]!;
    const bytes = await this.file.read(offset, size + blockTrailerBytes);
    let block: Block;
    try {
      block = new Block(verifyBlock(bytes, 0, size));
    } catch (error) {
      if (error instanceof FormatDefect) throw error.inFile(this.path, offset);
      throw error;
    }
    if (fillCache) this.cache.set(this.tableId, ordinal, block);
    return block;
  }

  /** Checks a block's bytes that arrived by other means (a scan's larger read). */
  blockFrom(bytes: Uint8Array, start: number, ordinal: number): Block {
    try {
      return new Block(verifyBlock(bytes, start, this.blockSizes[ordinal]!));
    } catch (error) {
      if (error instanceof FormatDefect) throw error.inFile(this.path, this.blockOffsets[ordinal]!);
      throw error;
    }
  }

  /** The raw bytes of blocks [first, end), trailers included, in one read. REQUIRES: pinned. */
  readBlocks(first: number, end: number): Promise<Buffer> {
    const start = this.blockOffsets[first]!;
    const stop = this.blockOffsets[end - 1]! + this.blockSizes[end - 1]! + blockTrailerBytes;
    return this.file.read(start, stop - start);
  }

  /** True once evicted: the file closes when the last pin goes, and no new pin may be taken. */
  get closing(): boolean {
    return this.closeRequested;
  }

  /** Keeps the file open across awaits until unpin. */
  pin(): void {
    assert(!this.closeRequested, "table pinned after it was evicted");
    this.pins++;
  }

  unpin(): void {
    assert(this.pins > 0, "table unpinned too often");
    if (--this.pins === 0 && this.closeRequested) this.closeFile();
  }

  /** Closes now, or when the last pin goes. */
  close(): Promise<void> {
    this.closeRequested = true;
    if (this.pins === 0) this.closeFile();
    return Promise.resolve();
  }

  private closeFile(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close().catch((error: unknown) => this.onCloseError(error, this.path));
  }
}

/** Bounds of the key and the value of index entry `i` (restart interval 1). */
function restartValueStart(
  index: Block,
  i: number,
): { keyStart: number; start: number; end: number } {
  const data = index.data;
  const limit = index.restartsOffset;
  let at = readVarint(data, index.restart(i), limit);
  if (at >= 0) at = readVarint(data, at, limit);
  const unshared = decoded.value;
  if (at >= 0) at = readVarint(data, at, limit);
  const valueLength = Math.floor(decoded.value / 2);
  if (at < 0 || at + unshared + valueLength > limit)
    throw new FormatDefect(index.restart(i), "index entry runs past the block");
  return { keyStart: at, start: at + unshared, end: at + unshared + valueLength };
}

function parseFooter(
  footer: Buffer,
  path: string,
  footerAt: number,
): { filter: Handle; properties: Handle; index: Handle } {
  if (!footer.subarray(44, 52).equals(sstMagic)) {
    throw new CorruptionError(
      path,
      footerAt + 44,
      `bad magic ${footer.subarray(44, 52).toString("hex")}, not an SST`,
    );
  }
  const stored = unmaskCrc(readFixed32(footer, 40));
  const actual = crc32c(footer, 0, 40);
  if (stored !== actual) {
    throw new CorruptionError(
      path,
      footerAt,
      `footer checksum mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`,
    );
  }
  const version = readFixed32(footer, 36);
  if (version !== sstFormatVersion) {
    throw new CorruptionError(
      path,
      footerAt + 36,
      `unknown SST format version ${version}, expected ${sstFormatVersion}`,
    );
  }
  const handle = (at: number): Handle => ({
    offset: readFixed64(footer, at),
    size: readFixed32(footer, at + 8),
  });
  const filter = handle(0);
  const properties = handle(12);
  const index = handle(24);
  const ordered =
    filter.offset >= 0 &&
    properties.offset === filter.offset + filter.size + blockTrailerBytes &&
    index.offset === properties.offset + properties.size + blockTrailerBytes &&
    index.offset + index.size + blockTrailerBytes === footerAt;
  if (!ordered)
    throw new CorruptionError(path, footerAt, "footer block handles do not tile the file's tail");
  return { filter, properties, index };
}

function parseProperties(data: Uint8Array, path: string, offset: number): SstProperties {
  const end = data.length;
  const fail = (at: number, reason: string): never => {
    throw new CorruptionError(path, offset + at, `properties: ${reason}`);
  };
  let at = readVarint(data, 0, end);
  if (at < 0) fail(0, "entry count");
  const entryCount = decoded.value;
  at = readVarint(data, at, end);
  if (at < 0) fail(0, "deletion count");
  const deletionCount = decoded.value;
  const key = (): Uint8Array => {
    const start = at;
    at = readVarint(data, at, end);
    if (at < 0 || at + decoded.value > end) fail(start, "key runs past the block");
    const bytes = data.slice(at, at + decoded.value);
    at += decoded.value;
    return bytes;
  };
  const smallest = key();
  const largest = key();
  if (at !== end) fail(at, "trailing bytes");
  return { entryCount, deletionCount, smallest, largest };
}
