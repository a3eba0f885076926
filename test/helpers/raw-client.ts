// A byte-level memcached client for tests: writes exactly the bytes given
// and collects exactly the bytes the server sends back.

import { connect, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export class RawClient {
  private received = Buffer.alloc(0);
  private closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
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
    return this.received;
  }

  /** Writes bytes; writing to a connection the server closed is not an error here. */
  write(data: string | Buffer): Promise<void> {
    if (this.closed || this.socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data, () =>
        resolve(),
      );
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
    while (!condition(this.received) && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out; received so far: ${JSON.stringify(this.received.toString("latin1"))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** Sends `request`, then reads until the reply ends with `terminator`. */
  async request(request: string | Buffer, terminator = "\r\n"): Promise<string> {
    const start = this.received.length;
    await this.write(request);
    const end = Buffer.from(terminator, "latin1");
    await this.until(
      (received) =>
        received.length - start >= end.length &&
        received.subarray(received.length - end.length).equals(end),
    );
    return this.received.subarray(start).toString("latin1");
  }

  /** Waits for the server to close the connection. */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    await this.until(() => false, timeoutMs).catch((error: unknown) => {
      if (!this.closed) throw error;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
