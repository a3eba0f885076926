// `memraft start`: one node serving the memcached protocol. Without a
// cluster file it is a cluster of one, durable in --data-dir; with one
// (--config, --node) it is that node of the cluster. --in-memory keeps data
// in memory only, like memcached.

import { readFileSync } from "node:fs";
import {
  type ClusterConfig,
  defaultGroupCount,
  loadClusterConfig,
  type NodeConfig,
  nodeById,
} from "../cluster/config.js";
import { startNode } from "../cluster/node.js";
import type { ReadMode } from "../cluster/replicated-store.js";
import { MemcachedServer } from "../server/server.js";
import { defaultSettings, type ServerSettings, validateSettings } from "../server/settings.js";
import { systemClock } from "../store/clock.js";
import { MemoryStore } from "../store/memory-store.js";
import { ConfigError } from "../util/errors.js";
import { createLogger, type Logger } from "../util/logger.js";
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
  readonly config?: string;
  readonly node?: string;
  readonly inMemory: boolean;
  readonly readMode: ReadMode;
}

/** The largest value the LSM stores, so the largest item a durable node takes. */
const durableItemSizeMaxBytes = 64 * 1024 * 1024;

export async function start(options: StartOptions): Promise<{ stop(): Promise<void> }> {
  const logger = createLogger(options.verbose);
  const { cluster, self, standalone } = clusterOf(options);
  const settings: ServerSettings = validateSettings({
    ...defaultSettings,
    host: self.client.host,
    port: self.client.port,
    maxConnections: options.maxConns,
    itemSizeMaxBytes: options.maxItemSize,
    memoryLimitBytes: options.memoryLimit * 1024 * 1024,
    shutdownEnabled: options.enableShutdown,
    flushEnabled: !options.disableFlushAll,
  });
  let stopping: Promise<void> | undefined;
  let started: Promise<() => Promise<void>> | undefined;
  // A stop asked for while the node is still starting waits for it to be up.
  const stop = (): Promise<void> => {
    stopping ??= (started ?? Promise.resolve(async () => {}))
      .then((stopServing) => stopServing())
      .then(() => process.exit(0));
    return stopping;
  };
  const onSignal = () => {
    // A second signal while draining: the operator wants out now.
    if (stopping !== undefined) process.exit(1);
    void stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const onShutdownRequest = () => void stop();
  if (options.inMemory) {
    started = startInMemory(settings, logger, onShutdownRequest);
    await started;
    return { stop };
  }
  if (settings.itemSizeMaxBytes > durableItemSizeMaxBytes) {
    throw new ConfigError(
      `max item size above 64m needs --in-memory (the durable store keeps values up to 64 MiB)`,
    );
  }
  logger.info(
    { version: memraftVersion, node: self.id, dataDir: self.dataDir },
    "starting memraft",
  );
  const starting = startNode({
    settings,
    cluster,
    self,
    standalone,
    readMode: options.readMode,
    clock: systemClock,
    logger,
    memraftVersion,
    onShutdownRequest,
  });
  started = starting.then((node) => node.stop);
  const node = await starting;
  const configPath = options.config;
  if (configPath !== undefined) {
    // SIGHUP: the operator edited the cluster file; propose it to the cluster.
    process.on("SIGHUP", () => {
      let contents: string;
      try {
        contents = readFileSync(configPath, "utf8");
      } catch (error) {
        logger.error({ err: error, path: configPath }, "SIGHUP: cannot read the cluster file");
        return;
      }
      node.cluster.reload(contents, configPath).catch((error: unknown) => {
        logger.error({ err: error, path: configPath }, "SIGHUP: applying the cluster file failed");
      });
    });
  }
  return { stop };
}

async function startInMemory(
  settings: ServerSettings,
  logger: Logger,
  onShutdownRequest: () => void,
): Promise<() => Promise<void>> {
  logger.info(
    { version: memraftVersion, storage: "memory" },
    "starting memraft (in memory: data does not survive a restart)",
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
    onShutdownRequest,
  });
  await server.listen();
  return () => server.close();
}

/** The cluster file's view, or a cluster of one made from the flags. */
function clusterOf(options: StartOptions): {
  cluster: ClusterConfig;
  self: NodeConfig;
  standalone: boolean;
} {
  if (options.config !== undefined) {
    if (options.node === undefined)
      throw new ConfigError("--config needs --node <id>: which node this is");
    const cluster = loadClusterConfig(options.config);
    return { cluster, self: nodeById(cluster, options.node, options.config), standalone: false };
  }
  if (options.node !== undefined) throw new ConfigError("--node needs --config <file>");
  const self: NodeConfig = {
    id: "n1",
    client: { host: options.listen, port: options.port },
    peer: { host: options.listen, port: 0 },
    dataDir: options.dataDir,
    weight: 1,
    draining: false,
  };
  return {
    cluster: { name: "memraft", groups: defaultGroupCount, replicationFactor: 1, nodes: [self] },
    self,
    standalone: true,
  };
}
