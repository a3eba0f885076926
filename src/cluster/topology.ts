// The part of a cluster file that the whole cluster must agree on: its name,
// group count, replication factor, rebalance limits and nodes (id,
// addresses, weight, draining). Data directories are each node's own
// business and are left out, so files that differ only there agree.
//
// The metadata group commits topologies as numbered configurations; a node
// compares its file's digest with the committed one to tell whether its
// file is the one the cluster follows.

import farmhash from "farmhash";
import type { PlacementNode } from "../ring/placement.js";
import { ConfigError } from "../util/errors.js";
import type { Address, ClusterConfig, RebalanceLimits } from "./config.js";
import { defaultRebalanceLimits, formatAddress } from "./config.js";

export interface TopologyNode extends PlacementNode {
  readonly client: Address;
  readonly peer: Address;
}

export interface Topology {
  readonly name: string;
  readonly groups: number;
  readonly replicationFactor: number;
  readonly rebalance: RebalanceLimits;
  readonly nodes: readonly TopologyNode[];
}

/** A topology the metadata group committed, with its number and the ids retired before it. */
export interface CommittedConfig {
  /** 1 for the configuration the cluster was created with; +1 per change. */
  readonly version: number;
  readonly topology: Topology;
  /** Node ids once in the cluster and deleted from it: never to be used again. */
  readonly retired: readonly string[];
}

export function topologyOf(config: ClusterConfig): Topology {
  return {
    name: config.name,
    groups: config.groups,
    replicationFactor: config.replicationFactor,
    rebalance: config.rebalance ?? defaultRebalanceLimits,
    nodes: config.nodes.map(({ id, client, peer, weight, draining }) => ({
      id,
      client,
      peer,
      weight,
      draining,
    })),
  };
}

/** A short stable name for a topology: equal topologies, equal digests, whatever the node order. */
export function topologyDigest(topology: Topology): string {
  const hash = farmhash.fingerprint64(Buffer.from(canonicalJson(topology), "utf8"));
  return BigInt.asUintN(64, BigInt(hash)).toString(16).padStart(16, "0");
}

function canonicalJson(topology: Topology): string {
  const nodes = [...topology.nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((node) => [
      node.id,
      formatAddress(node.client),
      formatAddress(node.peer),
      node.weight,
      node.draining,
    ]);
  return JSON.stringify([
    topology.name,
    topology.groups,
    topology.replicationFactor,
    topology.rebalance.movesMax,
    topology.rebalance.snapshotsPerNodeMax,
    nodes,
  ]);
}

/** Reads back a committed configuration from its JSON value, checking every field; `source` names it in errors. */
export function committedFromJson(value: unknown, source: string): CommittedConfig {
  const fail = (why: string): never => {
    throw new ConfigError(`${source}: committed configuration is malformed: ${why}`, { source });
  };
  const record = asRecord(value) ?? fail("not an object");
  const version = record.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) fail("version");
  const retired = record.retired;
  if (!Array.isArray(retired) || !retired.every((id) => typeof id === "string")) fail("retired");
  const topology = asRecord(record.topology) ?? fail("topology");
  const rebalance = asRecord(topology.rebalance) ?? fail("topology.rebalance");
  const nodes = topology.nodes;
  if (!Array.isArray(nodes)) fail("topology.nodes");
  const counted = (field: unknown, name: string): number =>
    typeof field === "number" && Number.isSafeInteger(field) && field >= 1 ? field : fail(name);
  return {
    version: version as number,
    retired: retired as string[],
    topology: {
      name: typeof topology.name === "string" ? topology.name : fail("topology.name"),
      groups: counted(topology.groups, "topology.groups"),
      replicationFactor: counted(topology.replicationFactor, "topology.replicationFactor"),
      rebalance: {
        movesMax: counted(rebalance.movesMax, "rebalance.movesMax"),
        snapshotsPerNodeMax: counted(
          rebalance.snapshotsPerNodeMax,
          "rebalance.snapshotsPerNodeMax",
        ),
      },
      nodes: (nodes as unknown[]).map((entry, index) => {
        const node = asRecord(entry) ?? fail(`nodes[${index}]`);
        const address = (field: unknown, name: string): Address => {
          const parsed = asRecord(field);
          if (typeof parsed?.host !== "string" || typeof parsed.port !== "number")
            fail(`nodes[${index}].${name}`);
          return { host: parsed!.host as string, port: parsed!.port as number };
        };
        if (typeof node.id !== "string") fail(`nodes[${index}].id`);
        if (typeof node.weight !== "number") fail(`nodes[${index}].weight`);
        if (typeof node.draining !== "boolean") fail(`nodes[${index}].draining`);
        return {
          id: node.id as string,
          client: address(node.client, "client"),
          peer: address(node.peer, "peer"),
          weight: node.weight as number,
          draining: node.draining as boolean,
        };
      }),
    },
  };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
