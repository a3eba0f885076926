// One member's part in pipelined Ready cycles (node-runtime.ts): which of its
// entries the shared log holds durably right now, and the order in which its
// Readies are applied and advanced.
//
// A Ready's committed entries are applied once the member's earlier Readies
// are applied and the entries are durable here: those already durable go at
// once, the rest after this Ready's fsync. A Ready whose committed entries
// were all durable therefore does not hold the next one's apply behind its
// own fsync (a single voter's write commits when its fsync ends, and is
// applied while the next batch syncs). advance() follows in the order the
// Readies were taken, each after its own fsync.

import type { RawNode } from "../raft/raw-node.js";
import type { Entry } from "../raft/types.js";
import type { GroupMember } from "./group-member.js";

type Ready = ReturnType<RawNode["ready"]>;

interface Write {
  readonly first: number;
  readonly last: number;
  synced: boolean;
}

export class MemberPipeline {
  /** Entries up to here are durable as the log holds them now. */
  private durableIndex: number;
  /** Writes of this member not yet synced, oldest first: where each starts replacing, and ends. */
  private readonly saving: Write[] = [];
  private applied: Promise<void> = Promise.resolve();
  private advanced: Promise<void> = Promise.resolve();

  constructor(private readonly member: GroupMember) {
    this.durableIndex = member.raw.raft.log.stable;
  }

  /**
   * Takes a Ready whose writes were handed to the log, `saved` resolving
   * when their fsync is done. Resolves once the Ready is applied and
   * advanced; rejects if its write or apply failed.
   */
  take(ready: Ready, saved: Promise<unknown>): Promise<void> {
    const write = this.recordWrite(ready);
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
      await saved;
      await member.applyCommitted(committed.slice(count));
    });
    this.applied = applied;
    const advanced = Promise.all([this.advanced, applied, saved]).then(() => member.raw.advance());
    this.advanced = advanced;
    return advanced;
  }

  private recordWrite(ready: Ready): Write | undefined {
    const snapshotIndex = ready.snapshot?.meta.index;
    const first = snapshotIndex === undefined ? ready.entries[0]?.index : snapshotIndex + 1;
    if (first === undefined) return undefined;
    const write = { first, last: ready.entries.at(-1)?.index ?? first - 1, synced: false };
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

  /** How many of `committed`, from the first, are durable now (committed entries are never replaced). */
  private durableCount(committed: readonly Entry[]): number {
    let count = 0;
    while (count < committed.length && committed[count]!.index <= this.durableIndex) count++;
    return count;
  }
}
