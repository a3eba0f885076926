// A growable byte buffer that builders write into. Pure. The finished bytes
// are a view over an ArrayBuffer of their own, so that a worker can transfer
// them without copying (and without detaching anybody else's memory).

export class ByteSink {
  bytes: Uint8Array;
  length = 0;

  constructor(initialBytes = 4096) {
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written, as a view that owns its whole ArrayBuffer's prefix. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}
