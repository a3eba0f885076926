// memraft's server started in the test process on a free loopback port.

import { MemcachedServer } from "../../src/server/server.js";
import { defaultSettings, type ServerSettings } from "../../src/server/settings.js";
import { type Clock, systemClock } from "../../src/store/clock.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { silentLogger } from "../../src/util/logger.js";

export interface TestServer {
  readonly server: MemcachedServer;
  readonly store: Store;
  readonly port: number;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  readonly settings?: Partial<ServerSettings>;
  readonly clock?: Clock;
  /** Wraps the memory store, e.g. to make it asynchronous. */
  readonly wrapStore?: (store: MemoryStore) => Store;
  readonly onShutdownRequest?: (graceful: boolean) => void;
}

export async function startMemraft(options: TestServerOptions = {}): Promise<TestServer> {
  const settings: ServerSettings = { ...defaultSettings, port: 0, ...options.settings };
  const clock = options.clock ?? systemClock;
  const memory = new MemoryStore({
    clock,
    memoryLimitBytes: settings.memoryLimitBytes,
    itemSizeMaxBytes: settings.itemSizeMaxBytes,
  });
  const store = options.wrapStore?.(memory) ?? memory;
  const server = new MemcachedServer({
    settings,
    store,
    clock,
    logger: silentLogger,
    memraftVersion: "test",
    ...(options.onShutdownRequest ? { onShutdownRequest: options.onShutdownRequest } : {}),
  });
  const { port } = await server.listen();
  return { server, store, port, stop: () => server.close() };
}
