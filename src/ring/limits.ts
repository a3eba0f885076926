// Limits of the ring, in one place. How they relate is checked when the
// module loads, so a bad edit fails at start-up rather than in a lookup.
//
// `slotCount` is frozen forever: every key's slot is fingerprint64(key) mod
// slotCount, and changing it would move almost every key to another group.

import { assert } from "../util/assert.js";

/** Slots in the key space. Frozen: never change (see the file comment). */
export const slotCount = 16384;

/** The largest group id; the slot table stores group ids as u16. */
export const groupIdMax = 0xffff;

/** Groups in an even layout: each needs at least one slot. */
export const groupCountMax = slotCount;

/** Ranges in a slot map: each covers at least one slot. */
export const slotRangeCountMax = slotCount;

/** Bytes of a node id, as the cluster file allows (src/cluster/config.ts). */
export const nodeIdBytesMax = 64;

assert(Number.isSafeInteger(slotCount) && slotCount > 0, "slotCount must be a positive integer");
assert((slotCount & (slotCount - 1)) === 0, "slotCount must be a power of two");
assert(slotCount - 1 <= 0xffff, "slot numbers are stored as u16");
assert(groupCountMax <= groupIdMax + 1, "an even layout numbers groups 0..groupCountMax-1");
assert(groupCountMax <= slotCount, "each group of an even layout needs a slot");
assert(slotRangeCountMax <= slotCount, "each range covers at least one slot");
