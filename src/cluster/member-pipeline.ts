// One member's part in pipelined Ready cycles (node-runtime.ts): which of its
// entries the shared log holds durably right now, and the order in which its
// Readies are applied and advanced.
//
// A Ready's committed entries are applied once the member's earlier Readies
// are applied and the entries are durable here: those already durable go at
// once, the rest as soon as the write holding them syncs, which may be an
// earlier Ready's (a leader whose followers acknowledged before its own
// fsync ended). A Ready whose committed entries were all durable does not
// hold the next one's apply behind its own fsync. advance() follows in the
// order the Readies were taken, each after its own fsync.

import type { Ready } from "../raft/raw-node.js";
import type { Entry, ReadState, SoftState } from "../raft/types.js";

/** What the pipeline needs of a member (GroupMember in the node). */
export interface PipelinedMember {
  readonly raw: { advance(): void; readonly raft: { readonly log: { readonly stable: number } } };
  roleChanged(soft: SoftState): void;
  confirmReads(readStates: readonly ReadState[]): void;
  applyCommitted(entries: readonly Entry[]): Promise<void>;
}

interface Write {
  /** The first index the write replaces (entries from here on), and its last entry. */
  readonly first: number;
  readonly last: number;
  /** Resolves when the fsync covering the write is done. */
  readonly saved: Promise<unknown>;
  synced: boolean;
}

export class MemberPipeline {
  /** Entries up to here are durable as the log holds them now. */
  private durableIndex: number;
  /** This member's writes not yet counted as synced, oldest first. */
  private readonly saving: Write[] = [];
  private applied: Promise<void> = Promise.resolve();
  private advanced: Promise<void> = Promise.resolve();

  /** Created with no Ready of the member out: everything the core holds as stable is. */
  constructor(private readonly member: PipelinedMember) {
    this.durableIndex = member.raw.raft.log.stable;
  }

  /**
   * Takes a Ready whose writes were handed to the log, `saved` resolving
   * when their fsync is done. Resolves once the Ready is applied and
   * advanced; rejects if its write or apply failed.
   */
  take(ready: Ready, saved: Promise<unknown>): Promise<void> {
    const write = this.recordWrite(ready, saved);
    // A failed write stops the node; the Ready's own promise carries the failure.
    if (write !== undefined)
      saved.then(
        () => this.synced(write),
        () => undefined,
      );
    const member = this.member;
    const committed = ready.committedEntries;
    const early = this.applied.then(async () => {
      if (ready.softState !== undefined) member.roleChanged(ready.softState);
      member.confirmReads(ready.readStates);
      const count = ready.snapshot === undefined ? this.durableCount(committed) : 0;
      await member.applyCommitted(
        count === committed.length ? committed : committed.slice(0, count),
      );
      return count;
    });
    const applied = early.then(async (count) => {
      if (count === committed.length) return;
      const rest = committed.slice(count);
      await (ready.snapshot === undefined ? this.syncOf(rest.at(-1)!.index) : saved);
      await member.applyCommitted(rest);
    });
    this.applied = applied;
    const advanced = Promise.all([this.advanced, applied, saved]).then(() => member.raw.advance());
    this.advanced = advanced;
    return advanced;
  }

  private recordWrite(ready: Ready, saved: Promise<unknown>): Write | undefined {
    const snapshotIndex = ready.snapshot?.meta.index;
    const first = snapshotIndex === undefined ? ready.entries[0]?.index : snapshotIndex + 1;
    if (first === undefined) return undefined;
    const last = ready.entries.at(-1)?.index ?? first - 1;
    const write = { first, last, saved, synced: false };
    this.saving.push(write);
    // What this write replaces is not durable as the log now holds it.
    this.durableIndex = Math.min(this.durableIndex, first - 1);
    return write;
  }

  private synced(write: Write): void {
    write.synced = true;
    // The log syncs in the order written: a write counts once those before it did.
    while (this.saving[0]?.synced === true) this.durableIndex = this.saving.shift()!.last;
    for (const later of this.saving)
      this.durableIndex = Math.min(this.durableIndex, later.first - 1);
  }

  /**
   * Resolves once the committed entry at `index` is durable: when the write
   * holding it syncs (the newest unsynced one starting at or below it; no
   * later write replaces a committed entry).
   */
  private syncOf(index: number): Promise<unknown> {
    for (let i = this.saving.length - 1; i >= 0; i--) {
      const write = this.saving[i]!;
      if (write.first <= index) return write.saved;
    }
    return Promise.resolve();
  }

  /** How many of `committed`, from the first, are durable now (committed entries are never replaced). */
  private durableCount(committed: readonly Entry[]): number {
    let count = 0;
    while (count < committed.length && committed[count]!.index <= this.durableIndex) count++;
    return count;
  }
}
