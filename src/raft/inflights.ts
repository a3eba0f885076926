// The append messages in flight to one follower, as a fixed-size ring of
// (last index, bytes). Freed from the front as acknowledgements arrive.
//
// Invariant: indexes in the ring are strictly increasing from `start`.

import { assert } from "../util/assert.js";

export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly countMax: number,
    private readonly bytesMax: number,
  ) {
    assert(countMax > 0, "inflights: countMax must be positive");
    this.lastIndexes = new Float64Array(countMax);
    this.sizes = new Float64Array(countMax);
  }

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), "inflights: add to a full window");
    if (this.count > 0) {
      const previous = this.lastIndexes[(this.start + this.count - 1) % this.countMax]!;
      assert(lastIndex > previous, () => `inflights: index ${lastIndex} after ${previous}`);
    }
    const slot = (this.start + this.count) % this.countMax;
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is at most `index`. */
  freeTo(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start]! <= index) {
      this.bytes -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.countMax;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  full(): boolean {
    return this.count === this.countMax || this.bytes >= this.bytesMax;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }

  get messageCount(): number {
    return this.count;
  }
}
