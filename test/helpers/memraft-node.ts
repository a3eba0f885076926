// memraft nodes started in the test process: a durable cluster of one in a
// temporary directory, or the nodes of a cluster on loopback addresses.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterConfig, NodeConfig } from "../../src/cluster/config.js";
import { type RunningNode, startNode } from "../../src/cluster/node.js";
import type { RuntimeLimits } from "../../src/cluster/node-runtime.js";
import type { ReadMode } from "../../src/cluster/replicated-store.js";
import type { FileSystem } from "../../src/fs/file-system.js";
import { NodeFileSystem } from "../../src/fs/node-file-system.js";
import { defaultSettings } from "../../src/server/settings.js";
import { systemClock } from "../../src/store/clock.js";
import { silentLogger } from "../../src/util/logger.js";
import { freePorts } from "./memcached-process.js";
import { waitFor } from "./wait.js";

export interface TestNodeOptions {
  readonly dataDir?: string;
  /** A file system to run on (the fault file system); the data directory is then "/data" unless given. */
  readonly fs?: FileSystem;
  readonly readMode?: ReadMode;
  readonly limits?: Partial<RuntimeLimits>;
  readonly memtableBytes?: number;
}

export interface InProcessClusterOptions extends Omit<TestNodeOptions, "dataDir" | "fs"> {
  /** Data groups (1 unless given). */
  readonly groups?: number;
  /** The file system node `index` runs on, given the real one (to watch or hold back its file access). */
  readonly wrapFs?: (index: number, fs: FileSystem) => FileSystem;
}

export interface TestNode {
  readonly node: RunningNode;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A durable cluster of one on a free port; its data directory goes away on stop unless given. */
export async function startDurableNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const dataDir =
    options.dataDir ??
    (options.fs === undefined ? mkdtempSync(join(tmpdir(), "memraft-node-")) : "/data");
  const self: NodeConfig = {
    id: "n1",
    client: { host: "127.0.0.1", port: 0 },
    peer: { host: "127.0.0.1", port: 0 },
    dataDir,
    weight: 1,
    draining: false,
  };
  const cluster: ClusterConfig = { name: "test", groups: 1, replicationFactor: 1, nodes: [self] };
  const node = await startNode({
    settings: { ...defaultSettings, port: 0 },
    cluster,
    self,
    readMode: options.readMode ?? "linearizable",
    clock: systemClock,
    logger: silentLogger,
    memraftVersion: "test",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.memtableBytes ? { memtableBytes: options.memtableBytes } : {}),
    ...(options.fs ? { fs: options.fs } : {}),
  });
  return {
    node,
    port: node.address.port,
    dataDir,
    stop: async () => {
      await node.stop();
      if (options.dataDir === undefined && options.fs === undefined)
        rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface InProcessCluster {
  readonly config: ClusterConfig;
  /** The running nodes by index; undefined while stopped. */
  readonly nodes: (RunningNode | undefined)[];
  /** A node's client address. */
  client(index: number): { readonly host: string; readonly port: number };
  stop(index: number): Promise<void>;
  restart(index: number): Promise<void>;
  stopAll(): Promise<void>;
}

/**
 * Nodes of one cluster in this process, each on its own loopback address
 * (127.0.0.1, .2, …), with free ports and temporary data directories.
 */
export async function startInProcessCluster(
  count: number,
  options: InProcessClusterOptions = {},
): Promise<InProcessCluster> {
  const root = mkdtempSync(join(tmpdir(), "memraft-cluster-"));
  const nodesConfig: NodeConfig[] = [];
  for (let i = 0; i < count; i++) {
    const host = `127.0.0.${i + 1}`;
    const [clientPort, peerPort] = (await freePorts(host, 2)) as [number, number];
    nodesConfig.push({
      id: `n${i + 1}`,
      client: { host, port: clientPort },
      peer: { host, port: peerPort },
      dataDir: join(root, `n${i + 1}`),
      weight: 1,
      draining: false,
    });
  }
  const config: ClusterConfig = {
    name: "test",
    groups: options.groups ?? 1,
    replicationFactor: count,
    nodes: nodesConfig,
  };
  const start = (index: number) =>
    startNode({
      settings: {
        ...defaultSettings,
        host: nodesConfig[index]!.client.host,
        port: nodesConfig[index]!.client.port,
      },
      cluster: config,
      self: nodesConfig[index]!,
      readMode: options.readMode ?? "linearizable",
      clock: systemClock,
      logger: silentLogger,
      memraftVersion: "test",
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.memtableBytes ? { memtableBytes: options.memtableBytes } : {}),
      ...(options.wrapFs ? { fs: options.wrapFs(index, new NodeFileSystem()) } : {}),
    });
  const nodes: (RunningNode | undefined)[] = await Promise.all(
    nodesConfig.map((_node, index) => start(index)),
  );
  return {
    config,
    nodes,
    client: (index) => nodesConfig[index]!.client,
    stop: async (index) => {
      await nodes[index]?.stop();
      nodes[index] = undefined;
    },
    restart: async (index) => {
      nodes[index] = await start(index);
    },
    stopAll: async () => {
      await Promise.all(nodes.map((node) => node?.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The index of the node leading group 0, once there is one. */
export async function waitForLeader(
  cluster: InProcessCluster,
  timeoutMs = 10_000,
): Promise<number> {
  let found = -1;
  await waitFor(
    "a leader",
    () => {
      found = cluster.nodes.findIndex((node) => node?.runtime.members.get(0)?.isLeader === true);
      return found !== -1;
    },
    timeoutMs,
  );
  return found;
}
