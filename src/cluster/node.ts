// A memraft node: the client-facing memcached server over a replicated
// store, the Raft groups it hosts, and its data directory:
//
//   <data-dir>/raft-log/     the shared Raft log (the write-ahead log)
//   <data-dir>/groups/<id>/  one LSM per group
//   <data-dir>/snapshots/    checkpoints sent to followers behind the log
//
// Without a cluster file a node is a cluster of one: one group, one voter,
// durable all the same (a single-voter group acknowledges after its fsync).

import type { AddressInfo } from "node:net";
import type { FileSystem } from "../fs/file-system.js";
import { NodeFileSystem } from "../fs/node-file-system.js";
import type { PeerAddress } from "../raft/transport/tcp-transport.js";
import { MemcachedServer } from "../server/server.js";
import type { ServerSettings } from "../server/settings.js";
import type { Clock } from "../store/clock.js";
import type { Logger } from "../util/logger.js";
import type { ClusterConfig, NodeConfig } from "./config.js";
import { raftNodeIds } from "./node-identity.js";
import { defaultRuntimeLimits, NodeRuntime, type RuntimeLimits } from "./node-runtime.js";
import { type ReadMode, ReplicatedStore } from "./replicated-store.js";

export interface NodeOptions {
  readonly settings: ServerSettings;
  /** The cluster and this node's entry in it. */
  readonly cluster: ClusterConfig;
  readonly self: NodeConfig;
  readonly readMode: ReadMode;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly memraftVersion: string;
  readonly fs?: FileSystem;
  readonly limits?: Partial<RuntimeLimits>;
  /** Bytes of LSM memtable per group before a flush. */
  readonly memtableBytes?: number;
  readonly requestTimeoutMs?: number;
  readonly onShutdownRequest?: (graceful: boolean) => void;
}

export interface RunningNode {
  readonly server: MemcachedServer;
  readonly runtime: NodeRuntime;
  readonly address: AddressInfo;
  /** Stops serving clients, then Raft, then closes the data. */
  stop(): Promise<void>;
}

/** The group of a key: one group until the ring spreads keys over many. */
const singleGroup = 0;

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { cluster, self } = options;
  const logger = options.logger.child({ node: self.id });
  const ids = raftNodeIds(cluster.nodes.map((node) => node.id));
  const nodeId = ids.get(self.id)!;
  const peers = new Map<number, PeerAddress>();
  if (cluster.nodes.length > 1) {
    for (const node of cluster.nodes) peers.set(ids.get(node.id)!, node.peer);
  }
  const voters = cluster.nodes
    .filter((node) => !node.draining)
    .slice(0, cluster.replicationFactor)
    .map((node) => ids.get(node.id)!);
  const runtime = await NodeRuntime.start({
    nodeId,
    dataDir: self.dataDir,
    fs: options.fs ?? new NodeFileSystem(),
    peers,
    groups: new Map([[singleGroup, voters]]),
    itemSizeMaxBytes: options.settings.itemSizeMaxBytes,
    readMode: options.readMode === "lease" ? "lease" : "safe",
    cacheBytes: options.settings.memoryLimitBytes,
    memtableBytes: options.memtableBytes ?? 8 * 1024 * 1024,
    limits: { ...defaultRuntimeLimits, ...options.limits },
    logger,
  });
  const store = new ReplicatedStore({
    runtime,
    nodeId,
    groupOf: () => singleGroup,
    clock: options.clock,
    readMode: options.readMode,
    memoryLimitBytes: options.settings.memoryLimitBytes,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    logger,
  });
  const server = new MemcachedServer({
    settings: options.settings,
    store,
    clock: options.clock,
    logger,
    memraftVersion: options.memraftVersion,
    ...(options.onShutdownRequest ? { onShutdownRequest: options.onShutdownRequest } : {}),
  });
  const address = await server.listen();
  logger.info(
    { dataDir: self.dataDir, voters: voters.length, readMode: options.readMode },
    "node started",
  );
  return { server, runtime, address, stop: () => server.close() };
}
