// The LSM compaction filter for memcached items: compaction drops items that
// expired or that a flush_all invalidated, so their space comes back. The
// LSM's worker thread imports this module by URL (see the LSM's
// CompactionFilterOptions), so it depends on nothing but the item format.
//
// Dropping is safe because a dropped item is dead for every reader from now
// on: expiry and the flush watermark only ever move forward. Keys memraft
// keeps for itself (longer than any memcached key) are always kept.

import { isLive } from "./item.js";
import { decodeItem } from "./item-codec.js";

export interface MemcachedFilterParams {
  readonly nowSeconds: number;
  readonly flushCasBelow: bigint;
  readonly flushDeadline: number;
}

const clientKeyBytesMax = 250;

export function memcachedFilter(
  params: MemcachedFilterParams,
): (key: Uint8Array, value: Uint8Array) => boolean {
  const flush = { casBelow: params.flushCasBelow, deadline: params.flushDeadline };
  return (key, value) => {
    if (key.length > clientKeyBytesMax) return true;
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.length);
    return isLive(decodeItem(bytes, "compaction"), flush, params.nowSeconds);
  };
}
