// Bytes received but not yet parsed. A chunk that arrives while nothing is
// pending is borrowed as is (no copy); only a remainder that must wait for
// the next chunk is copied, into a buffer that grows by doubling so that a
// long line arriving in small pieces costs linear time.
//
//   data: [ consumed | start .. end: pending | free (owned only) ]

const ownedBytesMin = 16 * 1024;

export class ReadBuffer {
  data: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  private owned = false;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) {
      this.data = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    const pending = this.end - this.start;
    if (this.owned && this.data.length - this.end >= chunk.length) {
      chunk.copy(this.data, this.end);
      this.end += chunk.length;
      return;
    }
    const capacity = Math.max(ownedBytesMin, 2 * (pending + chunk.length));
    const grown = Buffer.allocUnsafe(capacity);
    this.data.copy(grown, 0, this.start, this.end);
    chunk.copy(grown, pending);
    this.data = grown;
    this.start = 0;
    this.end = pending + chunk.length;
    this.owned = true;
  }

  consume(byteCount: number): void {
    this.start += byteCount;
    if (this.start === this.end) this.release();
  }

  /** Drops a borrowed chunk once it is fully parsed, so it can be collected. */
  private release(): void {
    if (!this.owned) this.data = emptyBuffer;
    this.start = 0;
    this.end = 0;
  }
}

const emptyBuffer = Buffer.alloc(0);
