// A byte-level memcached client for tests: writes exactly the bytes given
// and collects exactly the bytes the server sends back.

import { connect, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export class RawClient {
  private readonly chunks: Buffer[] = [];
  private receivedBytes = 0;
  private joined = Buffer.alloc(0);
  private closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.receivedBytes += chunk.length;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Everything received so far. */
  get bytes(): Buffer {
    if (this.chunks.length > 0)
      this.joined = Buffer.concat([this.joined, ...this.chunks.splice(0)]);
    return this.joined;
  }

  /** How many bytes arrived so far (cheaper than `bytes` for large replies). */
  get byteCount(): number {
    return this.receivedBytes;
  }

  /** Forgets everything received so far: a long-running client reads reply by reply. */
  discard(): void {
    this.chunks.length = 0;
    this.joined = Buffer.alloc(0);
    this.receivedBytes = 0;
  }

  /** Writes bytes; writing to a connection the server closed is not an error here. */
  write(data: string | Buffer): Promise<void> {
    if (this.closed || this.socket.writableEnded) return Promise.resolve();
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    return new Promise((resolve) => {
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Writes each piece separately, with a pause between, to split TCP segments. */
  async writePieces(pieces: readonly (string | Buffer)[], pauseMs = 5): Promise<void> {
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) await delay(pauseMs);
      await this.write(piece);
    }
  }

  /** Resolves when `condition` holds on the received bytes, or the connection closed. */
  async until(condition: (received: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.bytes) && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.bytes;
  }

  /** Sends `request`, then reads until the reply ends with `terminator`. */
  async request(request: string | Buffer, terminator = "\r\n"): Promise<string> {
    const start = this.byteCount;
    await this.write(request);
    const end = Buffer.from(terminator, "latin1");
    const received = await this.until(
      (bytes) =>
        bytes.length - start >= end.length && bytes.subarray(bytes.length - end.length).equals(end),
    );
    return received.subarray(start).toString("latin1");
  }

  /** Waits for the server to close the connection. */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    await this.until(() => false, timeoutMs).catch((error: unknown) => {
      if (!this.closed) throw error;
    });
  }

  /** Stops reading replies, as a client that does not consume them. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private describe(): string {
    const text = this.bytes.toString("latin1");
    const shown = text.length > 300 ? `${text.slice(0, 150)}…${text.slice(-150)}` : text;
    return `received ${text.length} bytes: ${JSON.stringify(shown)}`;
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
