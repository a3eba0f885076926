// The kinds of entry every format stores (WAL batches, memtable records, SST
// blocks). On-disk values: never renumber.

export const EntryKind = {
  /** A key with a value. */
  value: 0,
  /** A tombstone: the key is deleted; older versions below must stay hidden. */
  deletion: 1,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];
