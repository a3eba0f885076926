// Raft's safety properties (Raft paper, figure 3), checked by the simulator
// as they become observable, so a violation fails at the step that caused it:
// - election safety: at most one leader per term;
// - log matching: two entries with the same index and term carry the same
//   data and follow the same previous term;
// - leader completeness: a new leader holds every committed entry;
// - state machine safety: every node applies the same entry at an index.

import type { Raft } from "../../src/raft/raft.js";
import type { Entry } from "../../src/raft/types.js";

export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

export function entryKey(entry: Entry): string {
  return `${entry.type}:${Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength).toString("latin1")}`;
}

export class Invariants {
  private readonly leaders = new Map<number, number>();
  private readonly entries = new Map<string, { key: string; previousTerm: number }>();
  private readonly committed = new Map<number, number>();
  private maxCommitted = 0;
  private readonly applied = new Map<number, string>();
  private readonly commitSeen = new Map<number, number>();
  appliedCount = 0;

  leaderElected(raft: Raft): void {
    const existing = this.leaders.get(raft.term);
    if (existing !== undefined && existing !== raft.id) {
      fail(`election safety: term ${raft.term} has leaders ${existing} and ${raft.id}`);
    }
    this.leaders.set(raft.term, raft.id);
    for (let index = Math.max(raft.log.offset + 1, 1); index <= this.maxCommitted; index++) {
      const term = this.committed.get(index);
      if (term !== undefined && raft.log.term(index) !== term) {
        fail(
          `leader completeness: leader ${raft.id} of term ${raft.term} has ${raft.log.term(index)} at committed ${index}/${term}`,
        );
      }
    }
  }

  entriesAppended(raft: Raft, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const previousTerm = raft.log.term(entry.index - 1) ?? -1;
      const id = `${entry.index}/${entry.term}`;
      const key = entryKey(entry);
      const seen = this.entries.get(id);
      if (seen === undefined) {
        this.entries.set(id, { key, previousTerm });
        continue;
      }
      if (seen.key !== key) fail(`log matching: node ${raft.id} has different data at ${id}`);
      if (seen.previousTerm !== previousTerm && previousTerm !== -1 && seen.previousTerm !== -1) {
        fail(
          `log matching: node ${raft.id} has term ${previousTerm} before ${id}, another node ${seen.previousTerm}`,
        );
      }
    }
  }

  commitAdvanced(raft: Raft): void {
    const from = (this.commitSeen.get(raft.id) ?? 0) + 1;
    const to = raft.log.committed;
    for (let index = Math.max(from, raft.log.offset + 1); index <= to; index++) {
      const term = raft.log.term(index)!;
      const known = this.committed.get(index);
      if (known === undefined) this.committed.set(index, term);
      else if (known !== term)
        fail(
          `commit safety: node ${raft.id} committed ${index}/${term}, earlier ${index}/${known}`,
        );
    }
    this.maxCommitted = Math.max(this.maxCommitted, to);
    this.commitSeen.set(raft.id, to);
  }

  nodeRestarted(id: number): void {
    this.commitSeen.delete(id);
  }

  entryApplied(nodeId: number, entry: Entry): void {
    this.appliedCount++;
    const key = entryKey(entry);
    const seen = this.applied.get(entry.index);
    if (seen === undefined) this.applied.set(entry.index, key);
    else if (seen !== key)
      fail(`state machine safety: node ${nodeId} applied other data at ${entry.index}`);
  }

  describe(): string {
    return `leaders=${this.leaders.size} committed=${this.maxCommitted} applied=${this.appliedCount}`;
  }
}
