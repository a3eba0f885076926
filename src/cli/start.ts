// `memraft start`: one node serving the memcached protocol. Until durable
// storage lands it runs the in-memory engine; --data-dir is accepted so that
// scripts written today keep working.

import { MemcachedServer } from "../server/server.js";
import { defaultSettings, type ServerSettings, validateSettings } from "../server/settings.js";
import { systemClock } from "../store/clock.js";
import { MemoryStore } from "../store/memory-store.js";
import { createLogger } from "../util/logger.js";
import { memraftVersion } from "../util/version.js";

export interface StartOptions {
  readonly port: number;
  readonly listen: string;
  readonly maxConns: number;
  readonly maxItemSize: number;
  readonly memoryLimit: number;
  readonly verbose: number;
  readonly enableShutdown: boolean;
  readonly disableFlushAll: boolean;
  readonly dataDir: string;
}

export async function start(options: StartOptions): Promise<MemcachedServer> {
  const settings: ServerSettings = validateSettings({
    ...defaultSettings,
    host: options.listen,
    port: options.port,
    maxConnections: options.maxConns,
    itemSizeMaxBytes: options.maxItemSize,
    memoryLimitBytes: options.memoryLimit * 1024 * 1024,
    shutdownEnabled: options.enableShutdown,
    flushEnabled: !options.disableFlushAll,
  });
  const logger = createLogger(options.verbose);
  logger.info(
    { version: memraftVersion, dataDir: options.dataDir, storage: "memory" },
    "starting memraft (in-memory engine: data does not survive a restart yet)",
  );
  const store = new MemoryStore({
    clock: systemClock,
    memoryLimitBytes: settings.memoryLimitBytes,
    itemSizeMaxBytes: settings.itemSizeMaxBytes,
  });
  const server = new MemcachedServer({
    settings,
    store,
    clock: systemClock,
    logger,
    memraftVersion,
    onShutdownRequest: () => void stopOnce(server),
  });
  await server.listen();
  const stop = () => void stopOnce(server);
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return server;
}

let stopping = false;

async function stopOnce(server: MemcachedServer): Promise<void> {
  if (stopping) {
    // A second signal while draining: the operator wants out now.
    process.exit(1);
  }
  stopping = true;
  process.on("SIGINT", () => process.exit(1));
  process.on("SIGTERM", () => process.exit(1));
  await server.close();
  process.exit(0);
}
