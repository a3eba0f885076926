// Shared by the rebalance tests: applying the harness's cluster file, waiting
// for a rebalance to finish (by `cluster status`), bulk data whose every
// acknowledged key is checked afterwards, and the placement checks.

import type { ExecutionContext } from "ava";
import { applyFile, fetchStatus } from "../../src/cli/admin-client.js";
import type { ClusterStatus } from "../../src/cluster/cluster-status.js";
import type { Endpoint } from "../helpers/kv-client.js";
import type { ProcessCluster } from "../helpers/process-cluster.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

/** The cluster file as the harness has it now, committed through `via`. */
export async function applyConfig(cluster: ProcessCluster, via: Endpoint): Promise<number> {
  const result = await applyFile(via, Buffer.from(cluster.configText()));
  if (!("version" in result)) throw new Error(`cluster apply refused: ${result.problems}`);
  return result.version;
}

export async function statusOf(via: Endpoint): Promise<ClusterStatus> {
  return (await fetchStatus(via)) as ClusterStatus;
}

/**
 * Waits until the rebalance toward configuration `version` is finished and
 * every group has its full set of voters, no learner and a leader; returns
 * the status then. Asks the running nodes in turn.
 */
export async function rebalanced(
  cluster: ProcessCluster,
  version: number,
  replicationFactor: number,
  timeoutMs: number,
): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  let lastError = "";
  await waitFor(
    `the rebalance to configuration ${version} to finish`,
    async () => {
      for (const node of cluster.nodes.filter((candidate) => cluster.isRunning(candidate.id))) {
        try {
          last = await statusOf(node);
          break;
        } catch (error) {
          lastError = (error as Error).message;
        }
      }
      const rebalance = last?.rebalance;
      return (
        rebalance !== undefined &&
        rebalance !== null &&
        rebalance.configVersion === version &&
        rebalance.finishedAtMs !== null &&
        last!.groups.every(
          (group) =>
            group.voters.length === replicationFactor &&
            group.learners.length === 0 &&
            group.leader !== null,
        )
      );
    },
    timeoutMs,
    250,
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}; last status: ${JSON.stringify(last?.rebalance)} ${lastError}`,
    );
  });
  return last!;
}

/** Each node's replicas in a status, by node id. */
export function replicasByNode(status: ClusterStatus): Map<string, number> {
  return new Map(status.nodes.map((node) => [node.id, node.replicas]));
}

/** Checks every node holds its share of the replicas, within one. */
export function assertBalanced(t: ExecutionContext, status: ClusterStatus, nodeIds: string[]) {
  const total = status.groups.length * status.config.replicationFactor;
  const share = total / nodeIds.length;
  const counts = replicasByNode(status);
  for (const id of nodeIds) {
    const held = counts.get(id) ?? 0;
    t.true(
      held >= Math.floor(share) - 1 && held <= Math.ceil(share) + 1,
      `${id} holds ${held} replicas; its share is ${share.toFixed(1)}`,
    );
  }
}

/** Bulk data: `count` keys of `valueBytes` each, written through `via`, every one acknowledged. */
export async function writeBulk(
  via: Endpoint,
  prefix: string,
  count: number,
  valueBytes: number,
): Promise<void> {
  const client = await RawClient.connect(via.port, via.host);
  try {
    const window = 64;
    for (let start = 0; start < count; start += window) {
      const end = Math.min(count, start + window);
      let request = "";
      for (let i = start; i < end; i++) {
        const value = bulkValue(prefix, i, valueBytes);
        request += `set ${prefix}${i} 0 0 ${value.length}\r\n${value}\r\n`;
      }
      const reply = await client.request(request, "STORED\r\n".repeat(end - start));
      if (reply !== "STORED\r\n".repeat(end - start)) {
        throw new Error(`bulk write ${prefix}${start}..${end - 1}: ${reply.slice(0, 200)}`);
      }
    }
  } finally {
    client.close();
  }
}

/** The keys of writeBulk that `via` does not serve with their value. */
export async function missingBulk(
  via: Endpoint,
  prefix: string,
  count: number,
  valueBytes: number,
): Promise<string[]> {
  const client = await RawClient.connect(via.port, via.host);
  const missing: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const value = bulkValue(prefix, i, valueBytes);
      const expected = `VALUE ${prefix}${i} 0 ${value.length}\r\n${value}\r\nEND\r\n`;
      const reply = await client.request(`get ${prefix}${i}\r\n`, "END\r\n");
      if (reply !== expected) missing.push(`${prefix}${i}`);
    }
  } finally {
    client.close();
  }
  return missing;
}

function bulkValue(prefix: string, index: number, bytes: number): string {
  const seed = `${prefix}${index}:`;
  return seed.repeat(Math.ceil(bytes / seed.length)).slice(0, bytes);
}
