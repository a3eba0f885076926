// Reply bytes waiting to be written to one connection. Small pieces are
// copied into a slab; values at least `referenceBytesMin` long are passed by
// reference (stored values are immutable, so this is safe). take() hands the
// pending pieces over for one socket write.
//
//   slab: [ handed over | pendingStart .. position: pending | free ]
//
// Slabs come from a pool shared by all connections of a server, so an idle
// connection holds none. After a write the owner calls recycle(): if the
// socket kept no reference to the bytes (it wrote them at once), the slab
// goes back to the pool for reuse from its start; otherwise it is left to
// the socket and the garbage collector.

const slabBytes = 64 * 1024;
const referenceBytesMin = 4 * 1024;
const pooledSlabsMax = 16;
const crlf = 0x0a0d; // "\r\n" as a little-endian uint16

export class SlabPool {
  private readonly free: Buffer[] = [];

  acquire(byteCount: number): Buffer {
    if (byteCount <= slabBytes) {
      const pooled = this.free.pop();
      if (pooled !== undefined) return pooled;
    }
    return Buffer.allocUnsafe(Math.max(slabBytes, byteCount));
  }

  release(slab: Buffer): void {
    if (slab.length === slabBytes && this.free.length < pooledSlabsMax) this.free.push(slab);
  }
}

export class OutputBuffer {
  private slab: Buffer | undefined;
  private pendingStart = 0;
  private position = 0;
  private readonly pieces: Buffer[] = [];
  private pieceBytes = 0;

  constructor(private readonly pool: SlabPool) {}

  /** Bytes written and not yet taken. */
  get pendingBytes(): number {
    return this.pieceBytes + this.position - this.pendingStart;
  }

  /** Writes an ASCII/latin1 string (a key is latin1, one char per byte). */
  text(value: string): this {
    const slab = this.reserve(value.length);
    this.position += slab.write(value, this.position, "latin1");
    return this;
  }

  /** Writes a non-negative safe integer in decimal. */
  decimal(value: number): this {
    if (value < 10) return this.byte(0x30 + value);
    return this.text(String(value));
  }

  bigDecimal(value: bigint): this {
    return this.text(value.toString());
  }

  byte(value: number): this {
    const slab = this.reserve(1);
    slab[this.position++] = value;
    return this;
  }

  crlf(): this {
    const slab = this.reserve(2);
    slab.writeUInt16LE(crlf, this.position);
    this.position += 2;
    return this;
  }

  /** A whole reply line: `value` then CRLF. */
  line(value: string): this {
    return this.text(value).crlf();
  }

  bytes(value: Buffer): this {
    if (value.length >= referenceBytesMin) {
      this.closePiece();
      this.pieces.push(value);
      this.pieceBytes += value.length;
      return this;
    }
    const slab = this.reserve(value.length);
    value.copy(slab, this.position);
    this.position += value.length;
    return this;
  }

  /** Hands over everything pending, in order; empty when nothing is. */
  take(): Buffer[] {
    this.closePiece();
    const taken = this.pieces.splice(0);
    this.pieceBytes = 0;
    return taken;
  }

  /** Forgets everything written and not yet taken. */
  discard(): void {
    this.pieces.length = 0;
    this.pieceBytes = 0;
    this.pendingStart = this.position;
  }

  /**
   * Gives the slab up after a write. `reusable`: the socket holds no
   * reference to bytes taken from it, so it may be written over.
   * REQUIRES: nothing pending.
   */
  recycle(reusable: boolean): void {
    if (this.slab === undefined) return;
    if (reusable) this.pool.release(this.slab);
    this.slab = undefined;
    this.pendingStart = 0;
    this.position = 0;
  }

  private closePiece(): void {
    if (this.slab === undefined || this.position === this.pendingStart) return;
    const piece = this.slab.subarray(this.pendingStart, this.position);
    this.pieces.push(piece);
    this.pieceBytes += piece.length;
    this.pendingStart = this.position;
  }

  private reserve(byteCount: number): Buffer {
    const slab = this.slab;
    if (slab !== undefined && slab.length - this.position >= byteCount) return slab;
    this.closePiece();
    const fresh = this.pool.acquire(byteCount);
    this.slab = fresh;
    this.pendingStart = 0;
    this.position = 0;
    return fresh;
  }
}
