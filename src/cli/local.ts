// `memraft local --nodes 3`: a cluster on this machine for trying things
// out. All nodes run in this process, on 127.0.0.1 with consecutive client
// ports (11211, 11212, …) and peer ports 100 above them. Ctrl-C stops them
// all gracefully.

import { join } from "node:path";
import { type ClusterConfig, defaultGroupCount, type NodeConfig } from "../cluster/config.js";
import { type RunningNode, startNode } from "../cluster/node.js";
import type { ReadMode } from "../cluster/replicated-store.js";
import { defaultSettings, validateSettings } from "../server/settings.js";
import { systemClock } from "../store/clock.js";
import { ConfigError } from "../util/errors.js";
import { createLogger } from "../util/logger.js";
import { memraftVersion } from "../util/version.js";

export interface LocalOptions {
  readonly nodes: number;
  readonly port: number;
  readonly dataDir: string;
  readonly verbose: number;
  readonly readMode: ReadMode;
}

const peerPortOffset = 100;

export async function local(options: LocalOptions): Promise<void> {
  if (options.nodes < 1 || options.nodes > 9) throw new ConfigError("--nodes must be from 1 to 9");
  const host = "127.0.0.1";
  const members: NodeConfig[] = [];
  for (let i = 0; i < options.nodes; i++) {
    members.push({
      id: `n${i + 1}`,
      client: { host, port: options.port + i },
      peer: { host, port: options.port + peerPortOffset + i },
      dataDir: join(options.dataDir, `n${i + 1}`),
      weight: 1,
      draining: false,
    });
  }
  const cluster: ClusterConfig = {
    name: "local",
    groups: defaultGroupCount,
    replicationFactor: Math.min(3, options.nodes),
    nodes: members,
  };
  const logger = createLogger(options.verbose);
  const running: RunningNode[] = [];
  const stop = async () => {
    await Promise.all(running.map((node) => node.stop()));
    process.exit(0);
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  for (const self of members) {
    running.push(
      await startNode({
        settings: validateSettings({ ...defaultSettings, host, port: self.client.port }),
        cluster,
        self,
        readMode: options.readMode,
        clock: systemClock,
        logger,
        memraftVersion,
      }),
    );
  }
  process.stderr.write(
    `memraft local: ${options.nodes} node(s), data in ${options.dataDir}\n${members
      .map((node) => `  ${node.id}  memcached at ${host}:${node.client.port}`)
      .join("\n")}\nPress Ctrl-C to stop.\n`,
  );
}
