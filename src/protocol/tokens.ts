// Splits one command line into tokens, in place: a token is a [start, end)
// byte range of the line's buffer, kept in reused Int32Arrays. Only the space
// byte separates tokens (a tab is part of a token), runs of spaces count as
// one, as in memcached's tokenize_command.
//
// Like memcached, at most `tokensMax - 1` tokens are split per pass; `count`
// then includes one terminal token, so the arithmetic of memcached's token
// counts ("set needs 6 or 7") carries over unchanged. When the line holds
// more, `restStart` is where the unsplit rest begins (multigets continue
// there); otherwise it is -1.

import { tokensMax } from "./limits.js";

const space = 0x20;

export class Tokens {
  buf: Buffer = Buffer.alloc(0);
  /** Tokens split, plus the terminal token (memcached's ntokens). */
  count = 0;
  restStart = -1;
  lineEnd = 0;
  readonly starts = new Int32Array(tokensMax);
  readonly ends = new Int32Array(tokensMax);

  /** Splits bytes [start, end) of `buf`. */
  split(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.lineEnd = end;
    this.restStart = -1;
    let count = 0;
    let i = start;
    while (i < end) {
      while (i < end && buf[i] === space) i++;
      if (i === end) break;
      if (count === tokensMax - 1) {
        this.restStart = i;
        break;
      }
      const tokenStart = i;
      while (i < end && buf[i] !== space) i++;
      this.starts[count] = tokenStart;
      this.ends[count] = i;
      count++;
    }
    this.count = count + 1;
  }

  /** Number of real tokens (without the terminal one). */
  get words(): number {
    return this.count - 1;
  }

  length(index: number): number {
    return this.ends[index]! - this.starts[index]!;
  }

  start(index: number): number {
    return this.starts[index]!;
  }

  end(index: number): number {
    return this.ends[index]!;
  }

  /** First byte of a token. */
  first(index: number): number {
    return this.buf[this.starts[index]!]!;
  }

  /** True when token `index` is exactly `word` (ASCII). */
  is(index: number, word: string): boolean {
    const start = this.starts[index]!;
    if (this.ends[index]! - start !== word.length) return false;
    for (let i = 0; i < word.length; i++) {
      if (this.buf[start + i] !== word.charCodeAt(i)) return false;
    }
    return true;
  }

  /** True when token `index` begins with `prefix` (ASCII). */
  startsWith(index: number, prefix: string): boolean {
    const start = this.starts[index]!;
    if (this.ends[index]! - start < prefix.length) return false;
    for (let i = 0; i < prefix.length; i++) {
      if (this.buf[start + i] !== prefix.charCodeAt(i)) return false;
    }
    return true;
  }

  latin1(index: number): string {
    return this.buf.toString("latin1", this.starts[index]!, this.ends[index]!);
  }
}

/** Splits bytes [start, end) into key ranges, with no limit on their number. */
export function forEachWord(
  buf: Buffer,
  start: number,
  end: number,
  visit: (wordStart: number, wordEnd: number) => void,
): void {
  let i = start;
  while (i < end) {
    while (i < end && buf[i] === space) i++;
    if (i === end) return;
    const wordStart = i;
    while (i < end && buf[i] !== space) i++;
    visit(wordStart, i);
  }
}
