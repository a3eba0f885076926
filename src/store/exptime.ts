// memcached's exptime rules (memcached.c realtime()): 0 never expires; up to
// 30 days is relative to now; above that an absolute unix time; negative is
// already expired. The client's number was already truncated to int32 by the
// parser, so 2^31 arrives negative and 2^32 arrives as 0, as in memcached.
// Times are stored absolute so that every replica agrees on them.

import { relativeExptimeSecondsMax } from "../protocol/limits.js";

/** Stored exptime meaning "never expires". */
export const neverExpires = 0;

/** An absolute time long past: items with it are expired on arrival. */
export const alreadyExpired = 1;

/** Converts a client exptime to absolute unix seconds (0 = never). */
export function absoluteExptime(exptime: number, nowSeconds: number): number {
  if (exptime === 0) return neverExpires;
  if (exptime < 0) return alreadyExpired;
  if (exptime <= relativeExptimeSecondsMax) return nowSeconds + exptime;
  return exptime;
}

/** True when an item with this stored exptime is gone at `nowSeconds`. */
export function isExpired(exptime: number, nowSeconds: number): boolean {
  return exptime !== neverExpires && exptime <= nowSeconds;
}

/**
 * Seconds left as meta commands print them (`t` flag): -1 for never, else
 * memcached's unsigned 32-bit difference, which wraps for past times.
 */
export function ttlSeconds(exptime: number, nowSeconds: number): number {
  if (exptime === neverExpires) return -1;
  return (exptime - nowSeconds) >>> 0;
}
