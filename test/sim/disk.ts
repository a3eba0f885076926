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
  /** Records ever written; the first `written - unsynced.length` are durable. */
  private written = 0;
  failNextSync = false;

  /** A mark for sync(): everything written so far. */
  get writtenMark(): number {
    return this.written;
  }

  writeEntries(entries: readonly Entry[]): void {
    if (entries.length > 0) this.push({ kind: "entries", entries });
  }

  writeHardState(hardState: HardState): void {
    this.push({ kind: "hard-state", hardState });
  }

  writeSnapshot(snapshot: Snapshot): void {
    this.push({ kind: "snapshot", snapshot });
  }

  /**
   * Makes what was written up to `mark` (writtenMark then) durable, or all
   * of it; false if the sync failed. Later writes stay unsynced, as for a
   * pipelined owner whose next batch is written while this one syncs.
   */
  sync(mark = this.written): boolean {
    if (this.failNextSync) {
      this.failNextSync = false;
      return false;
    }
    const count = Math.max(0, mark - (this.written - this.unsynced.length));
    for (const record of this.unsynced.splice(0, count)) this.applyRecord(record);
    return true;
  }

  private push(record: DiskRecord): void {
    this.unsynced.push(record);
    this.written++;
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
