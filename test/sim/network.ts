// The simulated network: every message is delivered after a drawn delay
// (which reorders them), or dropped, or duplicated; directed links can be
// cut (a one-way partition cuts one direction only). Deterministic given
// the simulator's PRNG.

import type { Prng } from "../../src/raft/prng.js";
import type { Message, NodeId } from "../../src/raft/types.js";

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  delayTicksMax: number;
}

export class SimNetwork {
  private inFlight: { deliverAt: number; message: Message }[] = [];
  private readonly cut = new Set<string>();
  sentCount = 0;
  droppedCount = 0;

  constructor(
    private readonly random: Prng,
    readonly faults: NetworkFaults,
  ) {}

  send(now: number, message: Message): void {
    this.sentCount++;
    if (this.isCut(message.from, message.to) || this.random.chance(this.faults.dropRate)) {
      this.droppedCount++;
      return;
    }
    const copies = this.random.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.inFlight.push({
        deliverAt: now + this.random.int(this.faults.delayTicksMax + 1),
        message,
      });
    }
  }

  /** Messages due at `now`, in a drawn order; cut links drop what was in flight. */
  deliverDue(now: number): Message[] {
    const due: Message[] = [];
    const later: { deliverAt: number; message: Message }[] = [];
    for (const item of this.inFlight) {
      if (item.deliverAt > now) later.push(item);
      else if (!this.isCut(item.message.from, item.message.to)) due.push(item.message);
    }
    this.inFlight = later;
    for (let i = due.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [due[i], due[j]] = [due[j]!, due[i]!];
    }
    return due;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Splits nodes into two sides; `oneWay` cuts only side A -> side B. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[], oneWay: boolean): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cutLink(a, b);
        if (!oneWay) this.cutLink(b, a);
      }
    }
  }

  describeCuts(): string {
    return [...this.cut].sort().join(" ");
  }
}
