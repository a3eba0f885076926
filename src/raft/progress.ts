// A leader's view of one follower's log (etcd-io/raft design.md):
//   probe      next is a guess; one append in flight until an answer arrives
//   replicate  the follower matched; appends are pipelined up to the window
//   snapshot   the follower needs entries we compacted; a snapshot is being sent
//
// Invariant: match < next.

import { assert } from "../util/assert.js";
import { Inflights } from "./inflights.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** Probe state: an append is outstanding; wait for its answer or a heartbeat. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The leader's tick count when a message from the follower last arrived. */
  lastHeardTick = Number.NEGATIVE_INFINITY;
  /** Snapshot state: the snapshot being sent and the bytes the follower confirmed. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  /** The highest heartbeat sequence number the follower answered. */
  heartbeatAcked = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    /** Cleared when the learner is promoted; its replication goes on as it was. */
    public isLearner: boolean,
    inflightMessagesMax: number,
    inflightBytesMax: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  heard(tick: number): void {
    this.recentActive = true;
    this.lastHeardTick = tick;
  }

  becomeProbe(): void {
    if (this.state === "snapshot") this.next = Math.max(this.match + 1, this.snapshotIndex + 1);
    else this.next = this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = "snapshot";
    this.snapshotIndex = snapshotIndex;
    this.snapshotOffset = 0;
    this.inflights.reset();
  }

  /** An acknowledgement up to `index`; false if it says nothing new. */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append after `rejected`; `hint` is the last index that
   * may match. False if the rejection is stale.
   */
  maybeDecreaseTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    assert(this.match < this.next, "progress: next must stay above match");
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** Records an append sent with entries up to `lastIndex` (none when it equals next - 1). */
  sentAppend(lastIndex: number, bytes: number): void {
    if (this.state === "replicate") {
      if (lastIndex >= this.next) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else {
      this.probeSent = true;
    }
  }
}
