// The error every format reader raises for bytes that cannot be what was
// written: it names the file, the byte offset of the defect, and what was
// expected versus found. Corrupt data is reported, never served.

import { MemraftError } from "../util/errors.js";

export class CorruptionError extends MemraftError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;

  constructor(file: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super(
      "ERR_CORRUPTION",
      `corruption in ${file} at offset ${offset}: ${reason}`,
      {
        file,
        offset,
        reason,
      },
      options,
    );
    this.name = "CorruptionError";
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * A defect found by a pure decoder that does not know which file it reads:
 * the caller rethrows it as a CorruptionError with the file and the base
 * offset of the bytes it handed over.
 */
export class FormatDefect extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${reason} at offset ${offset}`);
    this.name = "FormatDefect";
  }

  inFile(file: string, baseOffset = 0): CorruptionError {
    return new CorruptionError(file, baseOffset + this.offset, this.reason, { cause: this });
  }
}
