// A simulated per-node disk for the Raft simulator: what a node has made
// durable, and what it wrote but has not yet synced.
//
// Fault model:
// - Writes (entries, hard state, snapshot) are queued as records in order
//   and become durable only when a sync completes, after a delay the
//   simulator draws (the node's messages wait for that sync, per the Ready
//   contract).
// - A crash keeps a random prefix of the unsynced records and drops the
//   rest; the last kept entries record may itself be torn (a prefix of its
//   entries survives). Records after a lost one never survive: the log is
//   append-only, so a later record cannot outlive an earlier one.
// - A sync may fail (`failNextSync`). The node must then stop without
//   acknowledging anything; the simulator crashes it at once, applying the
//   crash rule above to everything it had not synced.
// - Snapshots and compaction are atomic and synchronous (a checkpoint
//   written elsewhere and renamed into place).
// - No corruption of synced data: checksums and recovery are the disk log's
//   business (src/raft/log-storage) and are tested there.

import type { Prng } from "../../src/raft/prng.js";
import type { Entry, HardState, Snapshot } from "../../src/raft/types.js";

type DiskRecord =
  | { readonly kind: "entries"; readonly entries: readonly Entry[] }
  | { readonly kind: "hard-state"; readonly hardState: HardState }
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot };

export class SimDisk {
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** Durable log: entries after (offset, offsetTerm). */
  offset = 0;
  offsetTerm = 0;
  entries: Entry[] = [];
  snapshot: Snapshot | undefined;
  private unsynced: DiskRecord[] = [];
  failNextSync = false;

  writeEntries(entries: readonly Entry[]): void {
    if (entries.length > 0) this.unsynced.push({ kind: "entries", entries });
  }

  writeHardState(hardState: HardState): void {
    this.unsynced.push({ kind: "hard-state", hardState });
  }

  writeSnapshot(snapshot: Snapshot): void {
    this.unsynced.push({ kind: "snapshot", snapshot });
  }

  /** Makes everything written durable; false if the sync failed. */
  sync(): boolean {
    if (this.failNextSync) {
      this.failNextSync = false;
      return false;
    }
    for (const record of this.unsynced) this.applyRecord(record);
    this.unsynced = [];
    return true;
  }

  crash(random: Prng): void {
    const keep = random.int(this.unsynced.length + 1);
    for (let i = 0; i < keep; i++) {
      const record = this.unsynced[i]!;
      if (i === keep - 1 && record.kind === "entries" && random.chance(0.5)) {
        this.applyRecord({
          kind: "entries",
          entries: record.entries.slice(0, random.int(record.entries.length)),
        });
      } else {
        this.applyRecord(record);
      }
    }
    this.unsynced = [];
  }

  lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? this.offset;
  }

  /** The owner compacted up to `index`, covered by the durable snapshot. */
  compact(index: number, term: number): void {
    if (index <= this.offset) return;
    this.entries = this.entries.filter((entry) => entry.index > index);
    this.offset = index;
    this.offsetTerm = term;
  }

  private applyRecord(record: DiskRecord): void {
    switch (record.kind) {
      case "hard-state":
        this.hardState = record.hardState;
        return;
      case "snapshot":
        this.snapshot = record.snapshot;
        this.entries = [];
        this.offset = record.snapshot.meta.index;
        this.offsetTerm = record.snapshot.meta.term;
        return;
      case "entries": {
        const first = record.entries[0];
        if (first === undefined) return;
        // A suffix truncation: entries from `first.index` replace what was there.
        this.entries = this.entries.filter((entry) => entry.index < first.index);
        const last = this.entries[this.entries.length - 1];
        if ((last?.index ?? this.offset) + 1 !== first.index) {
          throw new Error(
            `sim disk: entries from ${first.index} leave a gap after ${last?.index ?? this.offset}`,
          );
        }
        this.entries.push(...record.entries);
      }
    }
  }
}
