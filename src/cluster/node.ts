// A memraft node: the client-facing memcached server over a replicated
// store, the Raft groups it hosts, its part in the cluster, and its data
// directory:
//
//   <data-dir>/raft-log/     the shared Raft log (the write-ahead log)
//   <data-dir>/groups/<id>/  one LSM per group this node hosts
//   <data-dir>/snapshots/    checkpoints sent to followers behind the log
//   <data-dir>/meta/         the node's identity and the groups it hosts
//
// Without a cluster file a node is a cluster of one: its groups have one
// voter, durable all the same (a single-voter group acknowledges after its
// fsync). The client port opens once the node has its replicas, or at once
// for a new node of a multi-node cluster, whose commands wait (up to their
// timeout) while it finds its place.

import type { AddressInfo } from "node:net";
import type { FileSystem } from "../fs/file-system.js";
import { NodeFileSystem } from "../fs/node-file-system.js";
import type { PeerAddress } from "../raft/transport/tcp-transport.js";
import type { NodeId } from "../raft/types.js";
import { MemcachedServer } from "../server/server.js";
import type { ServerSettings } from "../server/settings.js";
import type { Clock } from "../store/clock.js";
import type { Logger } from "../util/logger.js";
import { ClusterNode } from "./cluster-node.js";
import type { ClusterConfig, NodeConfig } from "./config.js";
import { GroupClient } from "./group-client.js";
import { Metadata } from "./metadata.js";
import { raftNodeIds } from "./node-identity.js";
import { defaultRuntimeLimits, NodeRuntime, type RuntimeLimits } from "./node-runtime.js";
import { type ReadMode, ReplicatedStore } from "./replicated-store.js";
import { Routing } from "./routing.js";
import { topologyOf } from "./topology.js";

export interface NodeOptions {
  readonly settings: ServerSettings;
  /** The cluster and this node's entry in it. */
  readonly cluster: ClusterConfig;
  readonly self: NodeConfig;
  /** Started without a cluster file: a cluster of one, with no peer port. */
  readonly standalone?: boolean;
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
  readonly cluster: ClusterNode;
  readonly address: AddressInfo;
  /** Stops serving clients, then Raft, then closes the data. */
  stop(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { cluster, self } = options;
  const standalone = options.standalone === true;
  const logger = options.logger.child({ node: self.id });
  const fs = options.fs ?? new NodeFileSystem();
  const ids = raftNodeIds(cluster.nodes.map((node) => node.id));
  const nodeId = ids.get(self.id)!;
  const peers = new Map<NodeId, PeerAddress>();
  if (!standalone) for (const node of cluster.nodes) peers.set(ids.get(node.id)!, node.peer);
  const runtime = await NodeRuntime.start({
    nodeId,
    dataDir: self.dataDir,
    fs,
    peers,
    itemSizeMaxBytes: options.settings.itemSizeMaxBytes,
    readMode: options.readMode === "lease" ? "lease" : "safe",
    cacheBytes: options.settings.memoryLimitBytes,
    memtableBytes: options.memtableBytes ?? 4 * 1024 * 1024,
    limits: { ...defaultRuntimeLimits, ...options.limits },
    logger,
  });
  const routing = new Routing();
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const groups = new GroupClient({
    runtime,
    nodeId,
    routing,
    clock: options.clock,
    requestTimeoutMs,
  });
  const node = new ClusterNode({
    runtime,
    groups,
    metadata: new Metadata(groups),
    routing,
    fs,
    dataDir: self.dataDir,
    selfId: self.id,
    fileTopology: topologyOf(cluster),
    standalone,
    requestTimeoutMs,
    logger,
  });
  const store = new ReplicatedStore({
    runtime,
    groups,
    groupOf: (key) => node.groupOf(key),
    dataGroupIds: () => node.dataGroupIds(),
    clock: options.clock,
    readMode: options.readMode,
    memoryLimitBytes: options.settings.memoryLimitBytes,
  });
  const server = new MemcachedServer({
    settings: options.settings,
    store,
    clock: options.clock,
    logger,
    memraftVersion: options.memraftVersion,
    cluster: node.admin,
    ...(options.onShutdownRequest ? { onShutdownRequest: options.onShutdownRequest } : {}),
  });
  // A node that can take its place alone does so before clients connect; a
  // new node of a multi-node cluster listens at once (its commands wait).
  let address: AddressInfo;
  try {
    await node.start();
    address = await server.listen();
  } catch (error) {
    // A start that fails leaves nothing running (the transport's listener,
    // timers, open groups), so that the process can report it and go on.
    node.stop();
    await runtime.stop().catch(() => {});
    throw error;
  }
  logger.info(
    { dataDir: self.dataDir, groups: cluster.groups, readMode: options.readMode },
    "node started",
  );
  return {
    server,
    runtime,
    cluster: node,
    address,
    stop: async () => {
      node.stop();
      await server.close();
    },
  };
}
