// Builds one SST file in memory (format in sst-format.ts). Pure, no fs: it
// runs in the compaction worker and returns bytes that are transferred to
// the main thread, which writes them through the FileSystem.
// REQUIRES: keys strictly ascending (checked by BlockBuilder).

import { assert } from "../util/assert.js";
import { crc32c, maskCrc } from "../util/crc32c.js";
import { BlockBuilder } from "./block-builder.js";
import { BlockType } from "./block-format.js";
import { BloomBuilder, bloomHash } from "./bloom.js";
import { ByteSink } from "./byte-sink.js";
import { EntryKind } from "./entry-kind.js";
import { footerBytes, sstFormatVersion, sstMagic } from "./sst-format.js";
import { varintBytes, writeFixed32, writeFixed64, writeVarint } from "./varint.js";

export interface TableOptions {
  readonly blockBytes: number;
  readonly blockRestartInterval: number;
  readonly bloomBitsPerKey: number;
}

export interface BuiltTable {
  /** The whole file. Owns a prefix of its ArrayBuffer: transferable. */
  readonly bytes: Uint8Array;
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  readonly entryCount: number;
  readonly deletionCount: number;
}

export class SstBuilder {
  private readonly sink: ByteSink;
  private readonly data: BlockBuilder;
  private readonly index = new BlockBuilder(1);
  private readonly bloom = new BloomBuilder();
  private smallest: Uint8Array | undefined;
  private lastIndexKey: Uint8Array | undefined;
  private entryCount = 0;
  private deletionCount = 0;
  private readonly handle = new Uint8Array(20);

  constructor(
    private readonly options: TableOptions,
    initialBytes = 1 << 20,
  ) {
    this.sink = new ByteSink(initialBytes);
    this.data = new BlockBuilder(options.blockRestartInterval);
  }

  get empty(): boolean {
    return this.entryCount === 0;
  }

  /** Bytes of the file so far (blocks written plus the block being built). */
  get estimatedBytes(): number {
    return this.sink.length + this.data.estimatedBytes;
  }

  add(
    key: Uint8Array,
    keyStart: number,
    keyEnd: number,
    kind: EntryKind,
    value: Uint8Array,
    valueStart: number,
    valueEnd: number,
  ): void {
    if (this.smallest === undefined) this.smallest = key.slice(keyStart, keyEnd);
    this.data.add(key, keyStart, keyEnd, kind, value, valueStart, valueEnd);
    this.bloom.add(bloomHash(key, keyStart, keyEnd));
    this.entryCount++;
    if (kind === EntryKind.deletion) this.deletionCount++;
    if (this.data.estimatedBytes >= this.options.blockBytes) this.flushDataBlock();
  }

  finish(): BuiltTable {
    assert(this.entryCount > 0, "an SST holds at least one entry");
    let largest: Uint8Array | undefined = this.data.empty
      ? undefined
      : this.data.lastKeyView().slice();
    if (!this.data.empty) this.flushDataBlock();
    largest ??= this.lastIndexKey!;
    const filterOffset = this.sink.length;
    const filter = this.bloom.finish(this.options.bloomBitsPerKey);
    const filterSize = this.writeRaw(filter);
    const propertiesOffset = this.sink.length;
    const propertiesSize = this.writeRaw(this.encodeProperties(largest));
    const indexOffset = this.sink.length;
    const indexSize = this.index.finishInto(this.sink);
    this.sink.reserve(footerBytes);
    const out = this.sink.bytes;
    const at = this.sink.length;
    writeFixed64(out, at, filterOffset);
    writeFixed32(out, at + 8, filterSize);
    writeFixed64(out, at + 12, propertiesOffset);
    writeFixed32(out, at + 20, propertiesSize);
    writeFixed64(out, at + 24, indexOffset);
    writeFixed32(out, at + 32, indexSize);
    writeFixed32(out, at + 36, sstFormatVersion);
    writeFixed32(out, at + 40, maskCrc(crc32c(out, at, at + 40)));
    out.set(sstMagic, at + 44);
    this.sink.length = at + footerBytes;
    return {
      bytes: this.sink.view(),
      smallest: this.smallest!,
      largest,
      entryCount: this.entryCount,
      deletionCount: this.deletionCount,
    };
  }

  private flushDataBlock(): void {
    const lastKey = this.data.lastKeyView().slice();
    const offset = this.sink.length;
    const size = this.data.finishInto(this.sink);
    let at = writeVarint(this.handle, 0, offset);
    at = writeVarint(this.handle, at, size);
    this.index.add(lastKey, 0, lastKey.length, EntryKind.value, this.handle, 0, at);
    this.lastIndexKey = lastKey;
  }

  /** Writes a block whose contents are `contents` (not a keyed block) with its trailer. */
  private writeRaw(contents: Uint8Array): number {
    const sink = this.sink;
    sink.reserve(contents.length + 5);
    const start = sink.length;
    sink.bytes.set(contents, start);
    const typeAt = start + contents.length;
    sink.bytes[typeAt] = BlockType.plain;
    writeFixed32(sink.bytes, typeAt + 1, maskCrc(crc32c(sink.bytes, start, typeAt + 1)));
    sink.length = typeAt + 5;
    return contents.length;
  }

  private encodeProperties(largest: Uint8Array): Uint8Array {
    const smallest = this.smallest!;
    const size =
      varintBytes(this.entryCount) +
      varintBytes(this.deletionCount) +
      varintBytes(smallest.length) +
      smallest.length +
      varintBytes(largest.length) +
      largest.length;
    const out = new Uint8Array(size);
    let at = writeVarint(out, 0, this.entryCount);
    at = writeVarint(out, at, this.deletionCount);
    at = writeVarint(out, at, smallest.length);
    out.set(smallest, at);
    at += smallest.length;
    at = writeVarint(out, at, largest.length);
    out.set(largest, at);
    return out;
  }
}
