// The memcached text protocol (classic and meta commands) as a byte-level
// state machine: bytes in through push(), commands out through next(). No
// I/O. Behaviour on bad input follows memcached 1.6.18 (proto_text.c) byte
// for byte, because clients stay in sync with the server only if both agree
// on how many bytes an erroneous command consumes:
// - a line that fails before its data length is known does not consume the
//   data block; the data line is then read as a command (usually ERROR);
// - a too-large item, and an ms whose flags fail after its length parsed,
//   swallow `length + 2` bytes and answer only after they arrived;
// - a data block is exactly `length + 2` bytes; if they do not end in CRLF
//   the answer is `CLIENT_ERROR bad data chunk` and parsing resumes after
//   them.
//
// States:
//   line    -> command | data (storage header read) | swallow | close
//   data    -> command once length + 2 bytes arrived
//   swallow -> the deferred reply once the bytes are skipped

import { decodeBase64Key } from "./base64-key.js";
import type {
  Command,
  MetaCommon,
  ReplyLineCommand,
  StatsGroup,
  StorageCommand,
  StorageMode,
} from "./commands.js";
import {
  clusterFileBytesMax,
  getLineBytesMax,
  itemTotalBytes,
  keyBytesMax,
  lineBytesMax,
  metaTokensMax,
  multigetLeadingSpacesMax,
  readBufferBytes,
} from "./limits.js";
import { MetaFlags } from "./meta-flags.js";
import { parseInt32, parseUint32, parseUint64 } from "./numbers.js";
import { ReadBuffer } from "./read-buffer.js";
import { replies } from "./replies.js";
import { forEachWord, Tokens } from "./tokens.js";

export interface ParserOptions {
  /** Largest item in bytes, memcached's overhead included (`-I`). */
  readonly itemSizeMaxBytes: number;
  /**
   * Whether memraft's `cluster` commands exist; without a cluster they are
   * unknown commands, as in memcached (whose data block, if any, is then
   * read as commands of its own).
   */
  readonly clusterCommands?: boolean;
}

export interface NeedMore {
  readonly kind: "need-more";
}

export type CloseReason = "line-too-long" | "http-request";

export interface Close {
  readonly kind: "close";
  readonly reason: CloseReason;
}

export type ParseResult = Command | NeedMore | Close;

export const needMore: NeedMore = { kind: "need-more" };

const lineFeed = 0x0a;
const carriageReturn = 0x0d;
const space = 0x20;
const int32Max = 0x7fffffff;

/** Header of a storage command whose data block is still arriving. */
type PendingBlock =
  | {
      readonly kind: "store";
      readonly mode: StorageMode;
      readonly key: string;
      readonly flags: number;
      readonly exptime: number;
      readonly cas: bigint;
      readonly noreply: boolean;
    }
  | {
      readonly kind: "ms";
      readonly mode: StorageMode;
      readonly key: string;
      readonly keyBinary: boolean;
      readonly quiet: boolean;
      readonly opaque: string;
      readonly returnFlags: string;
      readonly flags: number;
      readonly exptime: number;
      readonly cas: bigint;
      readonly invalidate: boolean;
    }
  | { readonly kind: "cluster_apply" };

const replyCache = new Map<string, ReplyLineCommand>();

/** A fixed reply; the common ones are shared objects. */
function reply(line: string, noreply = false): ReplyLineCommand {
  if (noreply) return { kind: "reply", line, noreply };
  let cached = replyCache.get(line);
  if (cached === undefined) {
    cached = { kind: "reply", line, noreply: false };
    replyCache.set(line, cached);
  }
  return cached;
}

const errorReply = reply(replies.error);
const multigetKeyTooLong: ReplyLineCommand = {
  kind: "reply",
  line: replies.badCommandLineFormat,
  noreply: false,
  discardUnsent: true,
};

export class TextParser {
  private readonly input = new ReadBuffer();
  private readonly tokens = new Tokens();
  private readonly meta = new MetaFlags();
  private state: "line" | "data" | "swallow" = "line";
  /** Pending bytes already searched for a newline (line state). */
  private scannedBytes = 0;
  private block: PendingBlock | undefined;
  private blockLength = 0;
  /** Data block bytes gathered so far when it spans chunks. */
  private blockBytes: Buffer | undefined;
  private blockFilled = 0;
  private swallowRemaining = 0;
  private afterSwallow: Command | undefined;

  constructor(private readonly options: ParserOptions) {}

  push(chunk: Buffer): void {
    this.input.push(chunk);
  }

  /** Bytes received and not yet consumed by a command. */
  get bufferedBytes(): number {
    return this.input.length + this.blockFilled;
  }

  next(): ParseResult {
    for (;;) {
      switch (this.state) {
        case "data":
          return this.readBlock();
        case "swallow": {
          const skipped = Math.min(this.swallowRemaining, this.input.length);
          this.input.consume(skipped);
          this.swallowRemaining -= skipped;
          if (this.swallowRemaining > 0) return needMore;
          this.state = "line";
          const deferred = this.afterSwallow!;
          this.afterSwallow = undefined;
          return deferred;
        }
        case "line": {
          const result = this.readLine();
          if (result !== undefined) return result;
        }
      }
    }
  }

  // ---- framing ---------------------------------------------------------------

  private readLine(): ParseResult | undefined {
    const input = this.input;
    const buf = input.data;
    const start = input.start;
    const newline = buf.indexOf(lineFeed, start + this.scannedBytes);
    if (newline === -1 || newline >= input.end) {
      this.scannedBytes = input.length;
      return this.partialLine();
    }
    this.scannedBytes = 0;
    const lineLength = newline - start;
    if (lineLength + 1 > readBufferBytes && !this.isMultiget(buf, start, newline)) {
      return { kind: "close", reason: "line-too-long" };
    }
    let end = newline;
    // memcached strips the CR only from lines longer than one byte.
    if (lineLength > 1 && buf[newline - 1] === carriageReturn) end--;
    // The line is a C string there: a NUL ends it.
    for (let i = start; i < end; i++) {
      if (buf[i] === 0) {
        end = i;
        break;
      }
    }
    input.consume(lineLength + 1);
    return this.parseLine(buf, start, end);
  }

  /** No newline yet: wait, unless the line is already too long. */
  private partialLine(): ParseResult {
    const input = this.input;
    if (input.length <= lineBytesMax) return needMore;
    if (!this.isMultiget(input.data, input.start, input.end)) {
      return { kind: "close", reason: "line-too-long" };
    }
    if (input.length > getLineBytesMax) return { kind: "close", reason: "line-too-long" };
    return needMore;
  }

  /** memcached lets only `get `/`gets ` lines (after a few spaces) grow long. */
  private isMultiget(buf: Buffer, start: number, end: number): boolean {
    let i = start;
    while (i < end && buf[i] === space) i++;
    if (i - start > multigetLeadingSpacesMax) return false;
    if (end - i < 4 || buf[i] !== 0x67 || buf[i + 1] !== 0x65 || buf[i + 2] !== 0x74) return false;
    if (buf[i + 3] === space) return true;
    return end - i >= 5 && buf[i + 3] === 0x73 && buf[i + 4] === space;
  }

  private readBlock(): ParseResult {
    const input = this.input;
    const total = this.blockLength + 2;
    if (this.blockBytes === undefined && input.length >= total) {
      const start = input.start;
      const valid =
        input.data[start + this.blockLength] === carriageReturn &&
        input.data[start + this.blockLength + 1] === lineFeed;
      const value = valid ? copyBytes(input.data, start, start + this.blockLength) : emptyValue;
      input.consume(total);
      return this.finishBlock(value, valid);
    }
    if (this.blockBytes === undefined) {
      this.blockBytes = Buffer.allocUnsafe(total);
      this.blockFilled = 0;
    }
    const copied = Math.min(total - this.blockFilled, input.length);
    input.data.copy(this.blockBytes, this.blockFilled, input.start, input.start + copied);
    input.consume(copied);
    this.blockFilled += copied;
    if (this.blockFilled < total) return needMore;
    const bytes = this.blockBytes;
    this.blockBytes = undefined;
    this.blockFilled = 0;
    const valid = bytes[total - 2] === carriageReturn && bytes[total - 1] === lineFeed;
    return this.finishBlock(bytes.subarray(0, this.blockLength), valid);
  }

  private finishBlock(value: Buffer, valid: boolean): Command {
    const block = this.block!;
    this.block = undefined;
    this.state = "line";
    if (!valid) {
      // A meta set always reports a bad chunk; noreply hides it for classic.
      return reply(replies.badDataChunk, block.kind === "store" && block.noreply);
    }
    if (block.kind === "store") return storageCommand(block, value, false);
    if (block.kind === "cluster_apply") return { kind: "cluster_apply", file: value };
    return { ...block, value, tooLarge: false };
  }

  private expectBlock(block: PendingBlock, length: number): undefined {
    this.block = block;
    this.blockLength = length;
    this.state = "data";
    return undefined;
  }

  private swallow(byteCount: number, deferred: Command): undefined {
    this.swallowRemaining = byteCount;
    this.afterSwallow = deferred;
    this.state = "swallow";
    return undefined;
  }

  // ---- dispatch --------------------------------------------------------------

  /** Returns the command, or undefined after switching to data/swallow state. */
  private parseLine(buf: Buffer, start: number, end: number): ParseResult | undefined {
    const tokens = this.tokens;
    tokens.split(buf, start, end);
    if (tokens.count < 2 || tokens.length(0) < 2) return errorReply;
    const first = tokens.first(0);
    if (first === 0x6d && tokens.length(0) === 2)
      return this.parseMeta(tokens.buf[tokens.start(0) + 1]!);
    switch (first) {
      case 0x67: // g
        if (tokens.count < 3) return errorReply;
        if (tokens.is(0, "get")) return this.parseRetrieval(false, false);
        if (tokens.is(0, "gets")) return this.parseRetrieval(true, false);
        if (tokens.is(0, "gat")) return this.parseRetrieval(false, true);
        if (tokens.is(0, "gats")) return this.parseRetrieval(true, true);
        return errorReply;
      case 0x73: // s
        if (tokens.is(0, "set")) return this.parseStorage("set");
        if (tokens.is(0, "stats")) return this.parseStats();
        if (tokens.is(0, "shutdown")) return this.parseShutdown();
        if (tokens.is(0, "slabs")) return this.parseSlabs();
        return errorReply;
      case 0x61: // a
        if (tokens.is(0, "add")) return this.parseStorage("add");
        if (tokens.is(0, "append")) return this.parseStorage("append");
        return errorReply;
      case 0x63: // c
        if (tokens.is(0, "cas")) return this.parseStorage("cas");
        if (tokens.is(0, "cache_memlimit")) return this.parseCacheMemlimit();
        if (tokens.is(0, "cluster")) return this.parseCluster();
        return errorReply;
      case 0x69: // i
        if (tokens.is(0, "incr")) return this.parseArithmetic(true);
        return errorReply;
      case 0x64: // d
        if (tokens.is(0, "delete")) return this.parseDelete();
        if (tokens.is(0, "decr")) return this.parseArithmetic(false);
        return errorReply;
      case 0x74: // t
        if (tokens.is(0, "touch")) return this.parseTouch();
        return errorReply;
    }
    if (tokens.is(0, "replace")) return this.parseStorage("replace");
    if (tokens.is(0, "prepend")) return this.parseStorage("prepend");
    if (tokens.is(0, "bget"))
      return tokens.count < 3 ? errorReply : this.parseRetrieval(false, false);
    if (tokens.is(0, "flush_all")) return this.parseFlushAll();
    if (tokens.is(0, "version")) return { kind: "version" };
    if (tokens.is(0, "quit")) return { kind: "quit" };
    if (tokens.is(0, "verbosity")) return this.parseVerbosity();
    if (tokens.is(0, "lru_crawler")) return this.parseLruCrawler();
    if (tokens.is(0, "lru")) return this.parseLru();
    // An HTTP request line: someone pointed a browser or proxy at us.
    if (tokens.startsWith(tokens.count - 2, "HTTP/"))
      return { kind: "close", reason: "http-request" };
    return errorReply;
  }

  // ---- memraft's own commands ---------------------------------------------------

  private parseCluster(): ParseResult | undefined {
    const tokens = this.tokens;
    if (this.options.clusterCommands !== true) return errorReply;
    if (tokens.count === 3 && tokens.is(1, "status")) return { kind: "cluster_status" };
    if (tokens.count !== 4 || !tokens.is(1, "apply")) return errorReply;
    const length = parseInt32(tokens.buf, tokens.start(2), tokens.end(2));
    if (length === undefined || length < 0) return reply(replies.badCommandLineFormat);
    if (length > clusterFileBytesMax) {
      return this.swallow(
        length + 2,
        reply(`CLIENT_ERROR cluster file over ${clusterFileBytesMax} bytes`),
      );
    }
    return this.expectBlock({ kind: "cluster_apply" }, length);
  }

  // ---- classic commands --------------------------------------------------------

  private parseRetrieval(returnCas: boolean, touch: boolean): Command {
    const tokens = this.tokens;
    let touchExptime: number | undefined;
    let firstKey = 1;
    if (touch) {
      touchExptime = parseInt32(tokens.buf, tokens.start(1), tokens.end(1));
      if (touchExptime === undefined) return reply(replies.invalidExptime);
      firstKey = 2;
    }
    const keys: string[] = [];
    let keyTooLong = false;
    const buf = tokens.buf;
    for (let i = firstKey; i < tokens.count - 1; i++) {
      if (tokens.length(i) > keyBytesMax) keyTooLong = true;
      else keys.push(tokens.latin1(i));
    }
    if (tokens.restStart !== -1) {
      forEachWord(buf, tokens.restStart, tokens.lineEnd, (wordStart, wordEnd) => {
        if (wordEnd - wordStart > keyBytesMax) keyTooLong = true;
        else keys.push(buf.toString("latin1", wordStart, wordEnd));
      });
    }
    if (keyTooLong) return multigetKeyTooLong;
    return { kind: "get", keys, returnCas, touchExptime };
  }

  private parseStorage(mode: StorageMode): ParseResult | undefined {
    const tokens = this.tokens;
    const withCas = mode === "cas";
    const count = tokens.count;
    if (withCas ? count !== 7 && count !== 8 : count !== 6 && count !== 7) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat, noreply);
    const buf = tokens.buf;
    const flags = parseUint32(buf, tokens.start(2), tokens.end(2));
    const exptime = parseInt32(buf, tokens.start(3), tokens.end(3));
    const length = parseInt32(buf, tokens.start(4), tokens.end(4));
    if (flags === undefined || exptime === undefined || length === undefined) {
      return reply(replies.badCommandLineFormat, noreply);
    }
    let cas = 0n;
    if (withCas) {
      const parsed = parseUint64(buf, tokens.start(5), tokens.end(5));
      if (parsed === undefined) return reply(replies.badCommandLineFormat, noreply);
      cas = parsed;
    }
    if (length < 0 || length > int32Max - 2) return reply(replies.badCommandLineFormat, noreply);
    const key = tokens.latin1(1);
    const header = { kind: "store", mode, key, flags, exptime, cas, noreply } as const;
    if (itemTotalBytes(tokens.length(1), length, flags) > this.options.itemSizeMaxBytes) {
      return this.swallow(length + 2, storageCommand(header, emptyValue, true));
    }
    return this.expectBlock(header, length);
  }

  private parseDelete(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count < 3 || count > 5) return errorReply;
    let noreply = false;
    if (count > 3) {
      // Old clients send a hold time; only 0 is accepted, as in memcached.
      const holdIsZero = tokens.is(2, "0");
      noreply = tokens.is(count - 2, "noreply");
      const valid =
        (count === 4 && (holdIsZero || noreply)) || (count === 5 && holdIsZero && noreply);
      if (!valid) return reply(replies.deleteUsage, noreply);
    }
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat, noreply);
    return { kind: "delete", key: tokens.latin1(1), noreply };
  }

  private parseArithmetic(incr: boolean): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count !== 4 && count !== 5) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat, noreply);
    const delta = parseUint64(tokens.buf, tokens.start(2), tokens.end(2));
    if (delta === undefined) return reply(replies.invalidDelta, noreply);
    return { kind: "arithmetic", key: tokens.latin1(1), incr, delta, noreply };
  }

  private parseTouch(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count !== 4 && count !== 5) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat, noreply);
    const exptime = parseInt32(tokens.buf, tokens.start(2), tokens.end(2));
    if (exptime === undefined) return reply(replies.invalidExptime, noreply);
    return { kind: "touch", key: tokens.latin1(1), exptime, noreply };
  }

  private parseFlushAll(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count < 2 || count > 4) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    let delay = 0;
    if (count !== (noreply ? 3 : 2)) {
      const parsed = parseInt32(tokens.buf, tokens.start(1), tokens.end(1));
      if (parsed === undefined) return reply(replies.invalidExptime, noreply);
      delay = parsed;
    }
    return { kind: "flush_all", delay, noreply };
  }

  private parseVerbosity(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count !== 3 && count !== 4) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    const level = parseUint32(tokens.buf, tokens.start(1), tokens.end(1));
    if (level === undefined) return reply(replies.badCommandLineFormat, noreply);
    return { kind: "verbosity", level, noreply };
  }

  private parseCacheMemlimit(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count !== 3 && count !== 4) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    const megabytes = parseUint32(tokens.buf, tokens.start(1), tokens.end(1));
    if (megabytes === undefined) return reply(replies.error, noreply);
    if (megabytes < 8) return reply(replies.memlimitTooSmall, noreply);
    if (megabytes > 1_000_000_000) return reply(replies.memlimitNotBytes, noreply);
    return { kind: "cache_memlimit", megabytes, noreply };
  }

  private parseStats(): Command {
    const tokens = this.tokens;
    if (tokens.count === 2) return { kind: "stats", group: "general" };
    const simple: readonly StatsGroup[] = ["settings", "items", "slabs", "sizes", "conns", "reset"];
    for (const group of simple) if (tokens.is(1, group)) return { kind: "stats", group };
    if (tokens.is(1, "detail")) {
      if (tokens.count < 4) return reply(replies.statsDetailUsage);
      if (tokens.is(2, "on")) return { kind: "stats", group: "detail on" };
      if (tokens.is(2, "off")) return { kind: "stats", group: "detail off" };
      if (tokens.is(2, "dump")) return { kind: "stats", group: "detail dump" };
      return reply(replies.statsDetailUsage);
    }
    if (tokens.is(1, "cachedump")) {
      if (tokens.count < 5) return reply(replies.badCommandLine);
      const slabClass = parseUint32(tokens.buf, tokens.start(2), tokens.end(2));
      const limit = parseUint32(tokens.buf, tokens.start(3), tokens.end(3));
      if (slabClass === undefined || limit === undefined)
        return reply(replies.badCommandLineFormat);
      if (slabClass >= 64) return reply(replies.illegalSlabId);
      return { kind: "stats_cachedump", slabClass, limit };
    }
    return errorReply;
  }

  private parseShutdown(): Command {
    const tokens = this.tokens;
    if (tokens.count === 2) return { kind: "shutdown", mode: "immediate" };
    if (tokens.count === 3 && tokens.is(1, "graceful"))
      return { kind: "shutdown", mode: "graceful" };
    return { kind: "shutdown", mode: "invalid" };
  }

  /** Slab tuning has no meaning here; accept what memcached accepts. */
  private parseSlabs(): Command {
    const tokens = this.tokens;
    if (tokens.count === 5 && tokens.is(1, "reassign")) {
      const source = parseInt32(tokens.buf, tokens.start(2), tokens.end(2));
      const target = parseInt32(tokens.buf, tokens.start(3), tokens.end(3));
      if (source === undefined || target === undefined) return reply(replies.badCommandLineFormat);
      return reply("BADCLASS invalid src or dst class id");
    }
    if (tokens.count >= 4 && tokens.is(1, "automove")) {
      const noreply = tokens.is(tokens.count - 2, "noreply");
      if (tokens.is(2, "ratio")) {
        const valid = tokens.count >= 5 && Number.isFinite(Number(tokens.latin1(3)));
        return reply(valid ? replies.ok : replies.error, noreply);
      }
      const level = parseUint32(tokens.buf, tokens.start(2), tokens.end(2));
      if (level === undefined) return reply(replies.badCommandLineFormat, noreply);
      return reply(level <= 2 ? replies.ok : replies.error, noreply);
    }
    return errorReply;
  }

  /** The LRU crawler's tuning is accepted; `metadump` lists the keys. */
  private parseLruCrawler(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count === 4 && tokens.is(1, "metadump")) return { kind: "lru_crawler_metadump" };
    if (count === 4 && tokens.is(1, "crawl")) return reply(replies.ok);
    if (count === 4 && (tokens.is(1, "tocrawl") || tokens.is(1, "sleep"))) {
      const value = parseUint32(tokens.buf, tokens.start(2), tokens.end(2));
      if (value === undefined) return reply(replies.badCommandLineFormat);
      if (tokens.is(1, "sleep") && value > 1_000_000) {
        return reply("CLIENT_ERROR sleep must be one second or less");
      }
      return reply(replies.ok);
    }
    if (count === 3 && (tokens.is(1, "enable") || tokens.is(1, "disable")))
      return reply(replies.ok);
    return errorReply;
  }

  /** LRU tuning has no meaning for a store that never evicts; accept it. */
  private parseLru(): Command {
    const tokens = this.tokens;
    const count = tokens.count;
    if (count < 3) return errorReply;
    const noreply = tokens.is(count - 2, "noreply");
    if (tokens.is(1, "tune") && count >= 7) {
      const hot = parseUint32(tokens.buf, tokens.start(2), tokens.end(2));
      const warm = parseUint32(tokens.buf, tokens.start(3), tokens.end(3));
      const hotFactor = Number(tokens.latin1(4));
      const warmFactor = Number(tokens.latin1(5));
      if (hot === undefined || warm === undefined || Number.isNaN(hotFactor + warmFactor)) {
        return reply(replies.error, noreply);
      }
      if (hot + warm > 80) return reply("ERROR hot and warm pcts must not exceed 80", noreply);
      if (hotFactor <= 0 || warmFactor <= 0) {
        return reply("ERROR hot/warm age factors must be greater than 0", noreply);
      }
      return reply(replies.ok, noreply);
    }
    if (tokens.is(1, "mode") && count >= 4) {
      const known = tokens.is(2, "flat") || tokens.is(2, "segmented");
      return reply(known ? replies.ok : replies.error, noreply);
    }
    if (tokens.is(1, "temp_ttl") && count >= 4) {
      const ttl = parseInt32(tokens.buf, tokens.start(2), tokens.end(2));
      return reply(ttl === undefined ? replies.error : replies.ok, noreply);
    }
    return reply(replies.error, noreply);
  }

  // ---- meta commands -----------------------------------------------------------

  private parseMeta(second: number): ParseResult | undefined {
    switch (second) {
      case 0x67: // mg
        return this.parseMetaGet();
      case 0x73: // ms
        return this.parseMetaSet();
      case 0x64: // md
        return this.parseMetaDelete();
      case 0x61: // ma
        return this.parseMetaArithmetic();
      case 0x6e: // mn
        return { kind: "mn" };
      case 0x65: // me
        return this.parseMetaDebug();
      default:
        return errorReply;
    }
  }

  /**
   * The checks mg, md and ma start with, then their flags: a reply when a
   * check fails. `flagError` is what a bad flag answers (mg says which;
   * md and ma answer one text for all).
   */
  private readMetaFlags(tooManyFlags: string, flagError?: string): ReplyLineCommand | undefined {
    const tokens = this.tokens;
    if (tokens.count < 3) return errorReply;
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat);
    if (tokens.count > metaTokensMax) return reply(tooManyFlags);
    const meta = this.meta;
    meta.parse(tokens, 2);
    if (meta.error !== undefined) return reply(flagError ?? meta.error);
    return undefined;
  }

  private parseMetaGet(): Command {
    const failed = this.readMetaFlags(replies.metaGetFlagsTooLong);
    if (failed !== undefined) return failed;
    const meta = this.meta;
    if (meta.opaqueTooLong) return reply(replies.metaOpaqueTooLong);
    return {
      kind: "mg",
      ...metaCommon(meta, "stcflhOk"),
      returnValue: meta.returnValue,
      noBump: meta.noBump,
      touchExptime: meta.touchExptime,
      vivifyExptime: meta.vivifyExptime,
      recacheExptime: meta.recacheExptime,
      effectOrder: meta.pick("TNRt"),
    };
  }

  private parseMetaSet(): undefined | Command {
    const tokens = this.tokens;
    if (tokens.count < 3) return errorReply;
    if (tokens.length(1) > keyBytesMax) return reply(replies.badCommandLineFormat);
    if (tokens.count === 3) return reply(replies.badCommandLineFormat);
    if (tokens.count > metaTokensMax) return reply(replies.metaFlagsTooLong);
    const length = parseInt32(tokens.buf, tokens.start(2), tokens.end(2));
    if (length === undefined || length < 0 || length > int32Max - 2) {
      return reply(replies.badCommandLineFormat);
    }
    const meta = this.meta;
    meta.parse(tokens, 3);
    // From here on the length is known, so every failure swallows the data.
    let error = meta.error;
    if (error === undefined && meta.opaqueTooLong) error = replies.metaOpaqueTooLong;
    // memcached checks the mode after the opaque, so a bad mode wins over a
    // long opaque, but a flag error found earlier wins over both.
    const givenMode = metaSetMode(meta.mode);
    if (givenMode === undefined && meta.error === undefined) error = replies.metaSetMode;
    if (error !== undefined || givenMode === undefined) {
      return this.swallow(length + 2, reply(error ?? replies.metaSetMode));
    }
    const compares = meta.hasCas && (givenMode === "set" || givenMode === "replace");
    const mode: StorageMode = compares ? "cas" : givenMode;
    const header = {
      kind: "ms",
      mode,
      ...metaCommon(meta, "Okc"),
      flags: meta.clientFlags,
      exptime: meta.touchExptime ?? 0,
      cas: meta.hasCas ? meta.cas : 0n,
      invalidate: meta.invalidate && compares,
    } as const;
    // memcached sizes the item with the key as sent (encoded when base64).
    if (
      itemTotalBytes(tokens.length(1), length, meta.clientFlags) > this.options.itemSizeMaxBytes
    ) {
      return this.swallow(length + 2, { ...header, value: emptyValue, tooLarge: true });
    }
    return this.expectBlock(header, length);
  }

  private parseMetaDelete(): Command {
    const failed = this.readMetaFlags(replies.metaFlagsTooLong, replies.metaInvalidOrDuplicateFlag);
    if (failed !== undefined) return failed;
    const meta = this.meta;
    if (meta.opaqueTooLong) return reply(replies.metaOpaqueTooLong);
    return {
      kind: "md",
      ...metaCommon(meta, "Ok"),
      cas: meta.hasCas ? meta.cas : undefined,
      invalidate: meta.invalidate,
      touchExptime: meta.touchExptime,
    };
  }

  private parseMetaArithmetic(): Command {
    const failed = this.readMetaFlags(replies.metaFlagsTooLong, replies.metaInvalidOrDuplicateFlag);
    if (failed !== undefined) return failed;
    const meta = this.meta;
    let incr: boolean;
    switch (meta.mode) {
      case 0:
      case 0x49: // I
      case 0x2b: // +
        incr = true;
        break;
      case 0x44: // D
      case 0x2d: // -
        incr = false;
        break;
      default:
        return reply(replies.metaArithmeticMode);
    }
    if (meta.opaqueTooLong) return reply(replies.metaOpaqueTooLong);
    return {
      kind: "ma",
      ...metaCommon(meta, "ctOk"),
      incr,
      delta: meta.delta,
      initial: meta.initial,
      cas: meta.hasCas ? meta.cas : 0n,
      returnValue: meta.returnValue,
      touchExptime: meta.touchExptime,
      vivifyExptime: meta.vivifyExptime,
      effectOrder: meta.pick("tTN"),
    };
  }

  private parseMetaDebug(): Command {
    const tokens = this.tokens;
    if (tokens.count < 3 || tokens.length(1) > keyBytesMax) {
      return reply(replies.badCommandLineFormat);
    }
    if (tokens.count >= 4 && tokens.is(2, "b")) {
      const decoded = decodeBase64Key(tokens.buf, tokens.start(1), tokens.end(1));
      if (decoded === undefined) return reply(replies.badCommandLineFormat);
      return { kind: "me", key: decoded.toString("latin1"), keyBinary: true };
    }
    return { kind: "me", key: tokens.latin1(1), keyBinary: false };
  }
}

/** What every meta command carries; `returnLetters`: the flags its reply echoes. */
function metaCommon(meta: MetaFlags, returnLetters: string): MetaCommon {
  return {
    key: meta.key,
    keyBinary: meta.keyBinary,
    quiet: meta.quiet,
    opaque: meta.opaque,
    returnFlags: meta.pick(returnLetters),
  };
}

type MetaSetMode = "set" | "add" | "replace" | "append" | "prepend";

function metaSetMode(mode: number): MetaSetMode | undefined {
  switch (mode) {
    case 0:
    case 0x53: // S
      return "set";
    case 0x45: // E
      return "add";
    case 0x41: // A
      return "append";
    case 0x50: // P
      return "prepend";
    case 0x52: // R
      return "replace";
    default:
      return undefined;
  }
}

const emptyValue = Buffer.alloc(0);

/** Copies a value out of the read buffer, which is reused or released. */
function copyBytes(source: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  source.copy(copy, 0, start, end);
  return copy;
}

/**
 * A storage command as one literal: a spread of its header gave each one a
 * hidden class of its own, and every reader of commands went megamorphic.
 */
function storageCommand(
  header: Extract<PendingBlock, { kind: "store" }>,
  value: Buffer,
  tooLarge: boolean,
): StorageCommand {
  return {
    kind: "store",
    mode: header.mode,
    key: header.key,
    flags: header.flags,
    exptime: header.exptime,
    value,
    cas: header.cas,
    noreply: header.noreply,
    tooLarge,
  };
}
