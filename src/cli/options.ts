// Parsers for command-line values, in memcached's forms. Each throws
// commander's InvalidArgumentError so that a bad value is a one-line error.

import { InvalidArgumentError } from "commander";

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new InvalidArgumentError("must be a port number from 0 to 65535.");
  }
  return port;
}

export function parsePositiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError("must be a positive integer.");
  }
  return value;
}

const sizeUnits: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** memcached's -I form: bytes, or a number with a k, m or g suffix. */
export function parseSize(text: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text);
  if (match === null) throw new InvalidArgumentError("must be a size such as 1048576, 512k or 1m.");
  return Number(match[1]) * sizeUnits[match[2]!.toLowerCase()]!;
}

/** Counts repeated -v flags. */
export function increaseVerbosity(_value: string, previous: number): number {
  return previous + 1;
}
