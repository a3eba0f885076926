// `memraft status` and `memraft cluster apply`: operator commands that talk
// to a running node over its client port (admin-client.ts). With --config
// they try the file's nodes in order until one answers; --server names one.

import { readFileSync } from "node:fs";
import type { ClusterStatus } from "../cluster/cluster-status.js";
import { type Address, formatAddress, loadClusterConfig } from "../cluster/config.js";
import { ConfigError, MemraftError } from "../util/errors.js";
import { applyFile, fetchStatus } from "./admin-client.js";
import { renderStatus } from "./status-view.js";

export interface ServerChoice {
  readonly server?: string;
  readonly config?: string;
}

/** The nodes to ask, in order. */
function serversOf(choice: ServerChoice): Address[] {
  if (choice.server !== undefined) {
    const match = /^(.+):(\d{1,5})$/.exec(choice.server);
    if (match === null) throw new ConfigError(`--server must be host:port, got ${choice.server}`);
    return [{ host: match[1]!, port: Number(match[2]) }];
  }
  if (choice.config !== undefined) {
    return loadClusterConfig(choice.config).nodes.map((node) => node.client);
  }
  return [{ host: "127.0.0.1", port: 11211 }];
}

async function firstAnswer<T>(choice: ServerChoice, ask: (address: Address) => Promise<T>) {
  const failures: string[] = [];
  for (const address of serversOf(choice)) {
    try {
      return await ask(address);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new MemraftError("ERR_UNAVAILABLE", `no node answered: ${failures.join("; ")}`);
}

export async function status(options: ServerChoice & { readonly json?: boolean }): Promise<void> {
  const view = (await firstAnswer(options, fetchStatus)) as ClusterStatus;
  process.stdout.write(
    options.json === true ? `${JSON.stringify(view, null, 2)}\n` : renderStatus(view, Date.now()),
  );
}

export async function clusterApply(options: ServerChoice & { readonly config: string }) {
  let file: Buffer;
  try {
    file = readFileSync(options.config);
  } catch (error) {
    throw new ConfigError(`cannot read ${options.config}: ${(error as Error).message}`);
  }
  // Checked here first, so a bad file is reported without a round trip.
  loadClusterConfig(options.config);
  const result = await firstAnswer(options, (address) =>
    applyFile(address, file).then((answer) => ({ answer, address })),
  );
  if ("version" in result.answer) {
    process.stdout.write(
      `configuration ${result.answer.version} committed (via ${formatAddress(result.address)}); the rebalance runs in the background: see memraft status\n`,
    );
    return;
  }
  process.stderr.write(
    `memraft: the cluster refused ${options.config}:\n  ${result.answer.problems.split("; ").join("\n  ")}\n`,
  );
  process.exitCode = 1;
}
