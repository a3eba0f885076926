// `cluster status`: the cluster as one node can see it right now — the
// committed configuration, each node (reachable? its file in step?), each
// group (slots, replicas, leader, how far each replica lags), and the
// rebalance in progress. Gathered by asking every node of the committed
// configuration for its own view, with a short timeout, so a node that is
// down shows as unreachable instead of holding the answer back.

import type { NodeId } from "../raft/types.js";
import type { SlotMap } from "../ring/slot-map.js";
import { formatAddress } from "./config.js";
import { AdminMethod, callJson, type MemberStatus, type NodeInfo } from "./group-admin.js";
import { groupName } from "./group-ids.js";
import type { GroupReplicas, Move, RebalanceRecord } from "./metadata.js";
import { raftNodeId } from "./node-identity.js";
import type { PeerRpc } from "./peer-rpc.js";
import { type CommittedConfig, topologyDigest } from "./topology.js";

export interface NodeStatus {
  readonly id: string;
  readonly client: string;
  readonly peer: string;
  readonly weight: number;
  readonly draining: boolean;
  readonly reachable: boolean;
  readonly fileMatchesCommitted: boolean | null;
  readonly replicas: number;
  readonly leaders: number;
}

export interface GroupStatus {
  readonly id: string;
  /** The group's slot ranges, "first-last" each; none for the metadata group. */
  readonly slots: readonly string[];
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  /** Entries each replica is behind the leader's commit index (as the leader sees it). */
  readonly lag: Readonly<Record<string, number>>;
  /** The leader is quiet: the group is idle, with no heartbeats (Raft.quiesced). */
  readonly quiet: boolean;
}

export interface ClusterStatus {
  /** The node that gathered this view. */
  readonly node: string;
  readonly config: {
    readonly version: number;
    readonly digest: string;
    readonly name: string;
    readonly groups: number;
    readonly replicationFactor: number;
  };
  readonly nodes: readonly NodeStatus[];
  readonly groups: readonly GroupStatus[];
  readonly rebalance: {
    readonly configVersion: number;
    readonly planned: number;
    readonly done: number;
    readonly inFlight: readonly Move[];
    readonly startedAtMs: number;
    readonly finishedAtMs: number | null;
  } | null;
  readonly warnings: readonly string[];
}

export interface StatusInputs {
  readonly rpc: PeerRpc;
  readonly self: string;
  readonly config: CommittedConfig;
  readonly replicas: ReadonlyMap<number, GroupReplicas>;
  readonly rebalance: RebalanceRecord | undefined;
  readonly slotMap: SlotMap | undefined;
}

const nodeInfoTimeoutMs = 1500;

export async function buildStatus(inputs: StatusInputs): Promise<ClusterStatus> {
  const { config, replicas } = inputs;
  const nodes = config.topology.nodes;
  const names = new Map<NodeId, string>(nodes.map((node) => [raftNodeId(node.id), node.id]));
  const nameOf = (id: NodeId) => names.get(id) ?? `#${id}`;
  const infos = await Promise.all(
    nodes.map(async (node) => {
      try {
        return await callJson<NodeInfo>(
          inputs.rpc,
          raftNodeId(node.id),
          AdminMethod.nodeInfo,
          {},
          nodeInfoTimeoutMs,
        );
      } catch {
        // Unreachable: shown as such below; the status is still worth having.
        return undefined;
      }
    }),
  );
  const leaders = new Map<number, MemberStatus>();
  for (const info of infos) {
    for (const member of info?.groups ?? []) {
      if (member.role !== "leader") continue;
      const known = leaders.get(member.groupId);
      if (known === undefined || member.term > known.term) leaders.set(member.groupId, member);
    }
  }
  const warnings: string[] = [];
  const nodeStatuses = nodes.map((node, index): NodeStatus => {
    const info = infos[index];
    if (info === undefined) warnings.push(`node ${node.id} does not answer`);
    else if (info.fileMatchesCommitted === false) {
      warnings.push(
        `node ${node.id}'s cluster file differs from committed configuration ${config.version}`,
      );
    }
    let held = 0;
    for (const group of replicas.values()) {
      if (group.voters.includes(node.id) || group.learners.includes(node.id)) held++;
    }
    let led = 0;
    for (const leader of leaders.values()) if (nameOf(leader.leader) === node.id) led++;
    return {
      id: node.id,
      client: formatAddress(node.client),
      peer: formatAddress(node.peer),
      weight: node.weight,
      draining: node.draining,
      reachable: info !== undefined,
      fileMatchesCommitted: info?.fileMatchesCommitted ?? null,
      replicas: held,
      leaders: led,
    };
  });
  const slots = new Map<number, string[]>();
  for (const range of inputs.slotMap?.ranges ?? []) {
    slots.set(range.groupId, [
      ...(slots.get(range.groupId) ?? []),
      `${range.firstSlot}-${range.lastSlot}`,
    ]);
  }
  const groups = [...replicas.keys()]
    .sort((a, b) => a - b)
    .map((groupId): GroupStatus => {
      const recorded = replicas.get(groupId)!;
      const leader = leaders.get(groupId);
      if (leader === undefined) warnings.push(`group ${groupName(groupId)} has no leader`);
      const lag: Record<string, number> = {};
      for (const [id, progress] of Object.entries(leader?.progress ?? {})) {
        lag[nameOf(Number(id))] = Math.max(0, (leader?.commit ?? 0) - progress.match);
      }
      return {
        id: groupName(groupId),
        slots: slots.get(groupId) ?? [],
        voters: leader === undefined ? recorded.voters : leader.voters.map(nameOf),
        learners: leader === undefined ? recorded.learners : leader.learners.map(nameOf),
        leader: leader === undefined ? null : nameOf(leader.leader),
        term: leader?.term ?? 0,
        commit: leader?.commit ?? 0,
        lag,
        quiet: leader?.quiet ?? false,
      };
    });
  const rebalance = inputs.rebalance;
  return {
    node: inputs.self,
    config: {
      version: config.version,
      digest: topologyDigest(config.topology),
      name: config.topology.name,
      groups: config.topology.groups,
      replicationFactor: config.topology.replicationFactor,
    },
    nodes: nodeStatuses,
    groups,
    rebalance:
      rebalance === undefined
        ? null
        : {
            configVersion: rebalance.configVersion,
            planned: rebalance.planned,
            done: rebalance.done,
            inFlight: rebalance.moves,
            startedAtMs: rebalance.startedAtMs,
            finishedAtMs: rebalance.finishedAtMs ?? null,
          },
    warnings,
  };
}
