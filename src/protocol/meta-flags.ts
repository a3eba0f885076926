// Meta command flags (mg, ms, md, ma), read the way memcached 1.6.18's
// _meta_flag_preparse reads them: one pass over the flag tokens in order,
// where a repeated or unknown flag stops at once, and a bad flag argument is
// remembered (the last one wins) while the pass goes on.
//
// Flags and their arguments (memcached protocol.txt, "Meta Debug/Get/Set"):
//   b  key is base64          N<ttl>  vivify on miss      T<ttl> new TTL
//   R<ttl> recache win        l h k s t c f O P L  output/ignored
//   v  return value           u  no LRU bump               q  quiet
//   F<flags> client flags     C<cas> compare cas           M<mode> ms/ma mode
//   J<n> ma initial value     D<n> ma delta                I  invalidate

import { decodeBase64Key } from "./base64-key.js";
import { metaOpaqueBytesMax } from "./limits.js";
import { parseInt32, parseUint32, parseUint64 } from "./numbers.js";
import { replies } from "./replies.js";
import type { Tokens } from "./tokens.js";

const flagByteMax = 127;

export class MetaFlags {
  key = "";
  keyBinary = false;
  quiet = false;
  returnValue = false;
  noBump = false;
  invalidate = false;
  hasCas = false;
  cas = 0n;
  clientFlags = 0;
  /** The byte after M, or 0 when no M flag was given. */
  mode = 0;
  touchExptime: number | undefined = undefined;
  vivifyExptime: number | undefined = undefined;
  recacheExptime: number | undefined = undefined;
  initial = 0n;
  delta = 1n;
  /** The O token (with its O), or "". */
  opaque = "";
  /** Every flag letter, in request order. */
  order = "";
  /** The reply for a flag error, or undefined when all flags were good. */
  error: string | undefined = undefined;
  private readonly seen = new Uint8Array(flagByteMax);

  /**
   * Reads flag tokens from `first` on, and the key from token 1.
   * REQUIRES: tokens.count >= 3 and the key is within the length limit.
   */
  parse(tokens: Tokens, first: number): void {
    this.reset();
    this.key = tokens.latin1(1);
    let error: string | undefined;
    for (let i = first; i < tokens.count - 1; i++) {
      const flag = tokens.first(i);
      if (flag >= flagByteMax || this.seen[flag] !== 0) {
        this.error = replies.metaDuplicateFlag;
        return;
      }
      this.seen[flag] = 1;
      this.order += String.fromCharCode(flag);
      const argStart = tokens.start(i) + 1;
      const argEnd = tokens.end(i);
      const buf = tokens.buf;
      switch (flag) {
        case 0x62: {
          // b
          const decoded = decodeBase64Key(buf, tokens.start(1), tokens.end(1));
          if (decoded === undefined) error = replies.metaKeyDecode;
          else this.key = decoded.toString("latin1");
          this.keyBinary = true;
          break;
        }
        case 0x4e: // N
          this.vivifyExptime = parseInt32(buf, argStart, argEnd);
          if (this.vivifyExptime === undefined) error = replies.metaBadToken;
          break;
        case 0x54: // T
          this.touchExptime = parseInt32(buf, argStart, argEnd);
          if (this.touchExptime === undefined) error = replies.metaBadToken;
          break;
        case 0x52: // R
          this.recacheExptime = parseInt32(buf, argStart, argEnd);
          if (this.recacheExptime === undefined) error = replies.metaBadToken;
          break;
        case 0x4f: // O
          this.opaque = tokens.latin1(i);
          break;
        case 0x6c: // l
        case 0x50: // P
        case 0x4c: // L
        case 0x6b: // k
        case 0x73: // s
        case 0x74: // t
        case 0x63: // c
        case 0x66: // f
        case 0x68: // h
          break;
        case 0x76: // v
          this.returnValue = true;
          break;
        case 0x75: // u
          this.noBump = true;
          break;
        case 0x71: // q
          this.quiet = true;
          break;
        case 0x46: {
          // F: memcached keeps the previous error text here.
          const clientFlags = parseUint32(buf, argStart, argEnd);
          if (clientFlags === undefined) error ??= replies.badCommandLineFormat;
          else this.clientFlags = clientFlags;
          break;
        }
        case 0x43: {
          // C
          const cas = parseUint64(buf, argStart, argEnd);
          if (cas === undefined) error = replies.metaBadToken;
          else {
            this.cas = cas;
            this.hasCas = true;
          }
          break;
        }
        case 0x4d: // M
          if (argEnd - argStart !== 1) error = replies.metaModeLength;
          else this.mode = buf[argStart]!;
          break;
        case 0x4a: {
          // J
          const initial = parseUint64(buf, argStart, argEnd);
          if (initial === undefined) error = replies.metaInitialValue;
          else this.initial = initial;
          break;
        }
        case 0x44: {
          // D
          const delta = parseUint64(buf, argStart, argEnd);
          if (delta === undefined) error = replies.metaDeltaValue;
          else this.delta = delta;
          break;
        }
        case 0x49: // I
          this.invalidate = true;
          break;
        default:
          this.error = replies.metaInvalidFlag;
          return;
      }
    }
    this.error = error;
  }

  /** True when the O token is longer than memcached accepts. */
  get opaqueTooLong(): boolean {
    return this.opaque.length > metaOpaqueBytesMax;
  }

  /** The flag letters among `letters`, in request order. */
  pick(letters: string): string {
    let picked = "";
    for (const letter of this.order) if (letters.includes(letter)) picked += letter;
    return picked;
  }

  private reset(): void {
    this.seen.fill(0);
    this.keyBinary = false;
    this.quiet = false;
    this.returnValue = false;
    this.noBump = false;
    this.invalidate = false;
    this.hasCas = false;
    this.cas = 0n;
    this.clientFlags = 0;
    this.mode = 0;
    this.touchExptime = undefined;
    this.vivifyExptime = undefined;
    this.recacheExptime = undefined;
    this.initial = 0n;
    this.delta = 1n;
    this.opaque = "";
    this.order = "";
    this.error = undefined;
  }
}
