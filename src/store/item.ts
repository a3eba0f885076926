// An item as every storage engine keeps it, and when it is alive.
//
// An ItemRecord is one version of an item: immutable, deterministic (the
// same on every replica that applied the same writes), and what durable
// engines store. What a node records about reads (fetched, last access) is
// an AccessRecord: local to the node, never replicated.

import { isExpired } from "./exptime.js";

export interface ItemRecord {
  readonly value: Buffer;
  /** Client flags, unsigned 32-bit. */
  readonly flags: number;
  /** Absolute unix seconds, 0 for never. */
  readonly exptime: number;
  readonly cas: bigint;
  /** Unix seconds of the write that made this version; a delayed flush_all compares it. */
  readonly writeTime: number;
  /** Marked stale by a meta invalidate (md I, ms I). */
  readonly stale: boolean;
  /** A client was told it won the right to recache (memcached's ITEM_TOKEN_SENT). */
  readonly tokenSent: boolean;
  /** The key arrived base64-encoded; meta replies echo it that way. */
  readonly keyBinary: boolean;
}

/** memcached's per-item access bookkeeping, local to each node. */
export interface AccessRecord {
  fetched: boolean;
  /** Unix seconds of the last recorded access (moved at most once a minute). */
  time: number;
}

/**
 * flush_all as a watermark: versions with a cas below `casBelow` are gone,
 * and once `deadline` (unix seconds, 0 for none) has come, so are versions
 * written before it. Engines turn a passed deadline into a cas watermark at
 * their next write.
 */
export interface FlushState {
  readonly casBelow: bigint;
  readonly deadline: number;
}

export const noFlush: FlushState = { casBelow: 0n, deadline: 0 };

export function isFlushed(record: ItemRecord, flush: FlushState, nowSeconds: number): boolean {
  if (record.cas < flush.casBelow) return true;
  return flush.deadline !== 0 && nowSeconds >= flush.deadline && record.writeTime < flush.deadline;
}

export function isLive(record: ItemRecord, flush: FlushState, nowSeconds: number): boolean {
  return !isExpired(record.exptime, nowSeconds) && !isFlushed(record, flush, nowSeconds);
}
