// A memraft connection driven without a network: bytes go in exactly as the
// test cuts them, and every byte the connection writes is collected. Uses
// the real Connection, Executor and MemoryStore.

import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Connection } from "../../src/server/connection.js";
import { MemcachedServer } from "../../src/server/server.js";
import { defaultSettings, type ServerSettings } from "../../src/server/settings.js";
import { type Clock, ManualClock } from "../../src/store/clock.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { silentLogger } from "../../src/util/logger.js";

class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  ended = false;
  destroyed = false;
  paused = false;
  writableLength = 0;
  writableNeedDrain = false;
  remoteAddress = "127.0.0.1";
  remotePort = 40000;
  localAddress = "127.0.0.1";
  localPort = 11211;

  setNoDelay(): this {
    return this;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  cork(): void {}
  uncork(): void {}
  write(chunk: Buffer): boolean {
    this.written.push(Buffer.from(chunk));
    return true;
  }
  end(callback?: () => void): this {
    this.ended = true;
    callback?.();
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit("close");
    return this;
  }
}

export interface SessionOptions {
  readonly clock?: Clock;
  readonly settings?: Partial<ServerSettings>;
}

export class ProtocolSession {
  private readonly socket = new FakeSocket();

  constructor(options: SessionOptions = {}) {
    const settings = { ...defaultSettings, port: 0, ...options.settings };
    const clock = options.clock ?? new ManualClock(1_800_000_000);
    const store = new MemoryStore({
      clock,
      memoryLimitBytes: settings.memoryLimitBytes,
      itemSizeMaxBytes: settings.itemSizeMaxBytes,
      sweep: false,
    });
    const host = new MemcachedServer({
      settings,
      store,
      clock,
      logger: silentLogger,
      memraftVersion: "test",
    });
    new Connection(1, this.socket as unknown as Socket, host);
  }

  /** Delivers one chunk, as one 'data' event. */
  feed(chunk: Buffer | string): void {
    this.socket.emit("data", typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
  }

  /** Everything written so far, as latin1. */
  get output(): string {
    return Buffer.concat(this.socket.written).toString("latin1");
  }

  get closed(): boolean {
    return this.socket.ended || this.socket.destroyed;
  }
}
