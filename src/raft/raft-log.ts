// One group's log as the core sees it: entries after a compaction point,
// with the commit, apply and durability marks. Pure, no I/O; the owner
// persists what Ready hands out and reloads it with `RaftLog.restore`.
//
// Invariants (checked by `check()`):
//   offset <= applied <= committed <= lastIndex()
//   offset <= stable <= lastIndex()      (stable: durable on this node)
//   entries[i].index === offset + 1 + i, terms non-decreasing
//   unstableFrom - 1 <= lastIndex()      (entries from unstableFrom not yet handed out)

import { assert } from "../util/assert.js";
import { type Entry, entryBytes, type SnapshotMeta } from "./types.js";

export class RaftLog {
  /** The index before entries[0] and its term (a snapshot or the empty log). */
  offset = 0;
  offsetTerm = 0;
  entries: Entry[] = [];
  committed = 0;
  applied = 0;
  stable = 0;
  /** The first index not yet handed to the owner for persisting. */
  unstableFrom = 1;

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  /** The term of `index`, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return this.entries[index - this.offset - 1]!.term;
  }

  entry(index: number): Entry {
    assert(
      index > this.offset && index <= this.lastIndex(),
      () => `log: entry ${index} out of range`,
    );
    return this.entries[index - this.offset - 1]!;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: compare last terms, then lengths. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries from `from` with at most `bytesMax` bytes (at least one entry), or
   * undefined when `from` is compacted away. The array is a copy; entries are shared.
   */
  slice(from: number, bytesMax: number): Entry[] | undefined {
    if (from <= this.offset) return undefined;
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= this.lastIndex(); index++) {
      const entry = this.entry(index);
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  append(entry: Entry): void {
    assert(
      entry.index === this.lastIndex() + 1,
      () => `log: append ${entry.index} after ${this.lastIndex()}`,
    );
    assert(entry.term >= this.lastTerm(), "log: append of an older term");
    this.entries.push(entry);
  }

  /**
   * Appends a leader's entries that follow (index, term), replacing a
   * conflicting suffix. Returns the last index known to match the leader.
   * REQUIRES: matchTerm(index, term).
   */
  appendFromLeader(index: number, entries: readonly Entry[]): number {
    let first = 0;
    while (first < entries.length) {
      const entry = entries[first]!;
      if (!this.matchTerm(entry.index, entry.term)) break;
      first++;
    }
    if (first === entries.length) return index + entries.length;
    const conflict = entries[first]!.index;
    assert(
      conflict > this.committed,
      () => `log: conflict at ${conflict} below commit ${this.committed}`,
    );
    if (conflict <= this.lastIndex()) this.truncateFrom(conflict);
    for (let i = first; i < entries.length; i++) this.append(entries[i]!);
    return this.lastIndex();
  }

  private truncateFrom(index: number): void {
    assert(index > this.offset, "log: truncate into compacted entries");
    this.entries.length = index - this.offset - 1;
    this.stable = Math.min(this.stable, index - 1);
    this.unstableFrom = Math.min(this.unstableFrom, index);
  }

  /**
   * The last index at or below `index` whose term is at most `term`: where
   * the log can first possibly match a leader whose entry at `index` has
   * `term` (the fast back-off of the thesis, §5.3).
   */
  findConflictByTerm(index: number, term: number): number {
    let at = Math.min(index, this.lastIndex());
    while (at > this.offset && this.term(at)! > term) at--;
    return at;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `log: commit ${index} beyond last ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Marks entries durable up to `index` if it still holds `term` there. */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) this.stable = index;
  }

  /** Replaces the whole log by a snapshot's position. */
  restoreSnapshot(meta: SnapshotMeta): void {
    assert(meta.index > this.committed, "log: snapshot behind commit");
    this.offset = meta.index;
    this.offsetTerm = meta.term;
    this.entries = [];
    this.committed = meta.index;
    this.applied = meta.index;
    this.stable = meta.index;
    this.unstableFrom = meta.index + 1;
  }

  /** Drops entries up to `index` (kept in a snapshot). */
  compactTo(index: number): void {
    if (index <= this.offset) return;
    assert(index <= this.applied, () => `log: compact ${index} beyond applied ${this.applied}`);
    assert(index <= this.stable, () => `log: compact ${index} beyond stable ${this.stable}`);
    this.offsetTerm = this.term(index)!;
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
  }

  check(): void {
    assert(this.offset <= this.applied, "log: applied below offset");
    assert(this.applied <= this.committed, "log: applied beyond commit");
    assert(this.committed <= this.lastIndex(), "log: commit beyond last index");
    assert(
      this.stable >= this.offset && this.stable <= this.lastIndex(),
      "log: stable out of range",
    );
    assert(this.unstableFrom - 1 <= this.lastIndex(), "log: unstable mark beyond end");
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      assert(entry.index === this.offset + 1 + i, "log: index gap");
      assert(
        entry.term >= (i === 0 ? this.offsetTerm : this.entries[i - 1]!.term),
        "log: term decreases",
      );
    }
  }

  /**
   * A log as reloaded from storage: entries after (offset, offsetTerm), with
   * `applied` the state machine's own durable index. The entries are durable
   * unless `durable` is false (a new group's first entry, not yet written).
   */
  static restore(options: {
    offset: number;
    offsetTerm: number;
    entries: readonly Entry[];
    committed: number;
    applied: number;
    durable: boolean;
  }): RaftLog {
    const log = new RaftLog();
    log.offset = options.offset;
    log.offsetTerm = options.offsetTerm;
    log.entries = options.entries.slice();
    log.committed = Math.max(options.committed, options.offset);
    log.applied = options.applied;
    log.stable = options.durable ? log.lastIndex() : log.offset;
    log.unstableFrom = (options.durable ? log.lastIndex() : log.offset) + 1;
    log.check();
    return log;
  }
}
