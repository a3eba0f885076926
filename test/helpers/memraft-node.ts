// memraft nodes started in the test process: a durable cluster of one in a
// temporary directory, or the nodes of a cluster on loopback addresses.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterConfig, NodeConfig } from "../../src/cluster/config.js";
import { type RunningNode, startNode } from "../../src/cluster/node.js";
import type { RuntimeLimits } from "../../src/cluster/node-runtime.js";
import type { ReadMode } from "../../src/cluster/replicated-store.js";
import { defaultSettings } from "../../src/server/settings.js";
import { systemClock } from "../../src/store/clock.js";
import { silentLogger } from "../../src/util/logger.js";

export interface TestNodeOptions {
  readonly dataDir?: string;
  readonly readMode?: ReadMode;
  readonly limits?: Partial<RuntimeLimits>;
  readonly memtableBytes?: number;
}

export interface TestNode {
  readonly node: RunningNode;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A durable cluster of one on a free port; its data directory goes away on stop unless given. */
export async function startDurableNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "memraft-node-"));
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
  });
  return {
    node,
    port: node.address.port,
    dataDir,
    stop: async () => {
      await node.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
