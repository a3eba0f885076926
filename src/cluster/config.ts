// The cluster file: the operator's description of a cluster, identical on
// every node, which picks its own entry by id. Validated as a whole before
// anything starts; every problem is reported with where it is.
//
//   version: 1
//   cluster:
//     name: demo
//     groups: 16                # Raft groups (shards); fixed once the cluster exists
//     replication_factor: 3     # voters per group, at most the number of nodes
//     rebalance:                # optional limits on moving replicas
//       moves_max: 4            # replica moves in flight in the cluster
//       snapshots_per_node_max: 1  # snapshots a node sends or receives at once
//   defaults:                   # any node entry may override these
//     data_dir: ./data/${id}
//   nodes:                      # ids are never reused
//     - id: n1
//       client: 127.0.0.1:11211 # memcached protocol
//       peer: 127.0.0.1:11311   # Raft between nodes
//       weight: 1               # share of replicas, relative
//       draining: false         # true: move everything off before removal

import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { ConfigError } from "../util/errors.js";

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly id: string;
  readonly client: Address;
  readonly peer: Address;
  readonly dataDir: string;
  readonly weight: number;
  readonly draining: boolean;
}

export interface RebalanceLimits {
  /** Replica moves in flight in the whole cluster. */
  readonly movesMax: number;
  /** Snapshots one node sends or receives at once. */
  readonly snapshotsPerNodeMax: number;
}

export interface ClusterConfig {
  readonly name: string;
  readonly groups: number;
  readonly replicationFactor: number;
  /** Defaults to defaultRebalanceLimits. */
  readonly rebalance?: RebalanceLimits;
  readonly nodes: readonly NodeConfig[];
}

export const defaultGroupCount = 16;
export const defaultRebalanceLimits: RebalanceLimits = { movesMax: 4, snapshotsPerNodeMax: 1 };
/** Well below the largest group id, which is the metadata group's (group-ids.ts). */
export const groupCountMax = 4096;

const formatVersion = 1;
// biome-ignore lint/suspicious/noTemplateCurlyInString: the cluster file's own placeholder syntax
const idPlaceholder = "${id}";
const idPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Collects every problem, so the operator sees them all at once. */
class Problems {
  readonly list: string[] = [];

  add(where: string, problem: string): void {
    this.list.push(`${where}: ${problem}`);
  }
}

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fieldsAt(
  value: unknown,
  where: string,
  allowed: readonly string[],
  problems: Problems,
): Fields {
  if (value === undefined) return {};
  if (!isFields(value)) {
    problems.add(where, "must be a mapping");
    return {};
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      problems.add(`${where}.${key}`, `unknown setting (known: ${allowed.join(", ")})`);
  }
  return value;
}

function positiveInteger(
  value: unknown,
  where: string,
  fallback: number,
  problems: Problems,
): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1) return value;
  problems.add(where, `must be a positive integer, got ${JSON.stringify(value)}`);
  return fallback;
}

function text(
  value: unknown,
  where: string,
  fallback: string | undefined,
  problems: Problems,
): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value === "string" && value.length > 0) return value;
  problems.add(
    where,
    value === undefined
      ? "is required"
      : `must be a non-empty string, got ${JSON.stringify(value)}`,
  );
  return fallback ?? "";
}

function parseAddress(value: unknown, where: string, problems: Problems): Address {
  const invalid = { host: "", port: 0 };
  if (typeof value !== "string") {
    problems.add(where, value === undefined ? "is required (host:port)" : "must be host:port");
    return invalid;
  }
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port < 1 || port > 65535) {
    problems.add(
      where,
      `must be host:port with a port from 1 to 65535, got ${JSON.stringify(value)}`,
    );
    return invalid;
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

export function formatAddress(address: Address): string {
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

function parseNode(
  value: unknown,
  index: number,
  defaults: Fields,
  problems: Problems,
): NodeConfig {
  const where = `nodes[${index}]`;
  const fields = fieldsAt(
    value,
    where,
    ["id", "client", "peer", "data_dir", "weight", "draining"],
    problems,
  );
  const id = text(fields.id, `${where}.id`, undefined, problems);
  if (id !== "" && !idPattern.test(id)) {
    problems.add(`${where}.id`, "must be letters, digits, '-' or '_' (at most 64)");
  }
  const dataDirTemplate = text(
    fields.data_dir ?? defaults.data_dir,
    `${where}.data_dir`,
    `./data/${idPlaceholder}`,
    problems,
  );
  const weight = fields.weight ?? defaults.weight ?? 1;
  if (typeof weight !== "number" || !(weight > 0) || !Number.isFinite(weight)) {
    problems.add(`${where}.weight`, `must be a positive number, got ${JSON.stringify(weight)}`);
  }
  const draining = fields.draining ?? false;
  if (typeof draining !== "boolean") problems.add(`${where}.draining`, "must be true or false");
  return {
    id,
    client: parseAddress(fields.client, `${where}.client`, problems),
    peer: parseAddress(fields.peer, `${where}.peer`, problems),
    dataDir: dataDirTemplate.replaceAll(idPlaceholder, id),
    weight: typeof weight === "number" ? weight : 1,
    draining: draining === true,
  };
}

function checkUnique(nodes: readonly NodeConfig[], problems: Problems): void {
  const seen = new Map<string, string>();
  const claim = (value: string, where: string, what: string) => {
    const earlier = seen.get(`${what} ${value}`);
    if (earlier !== undefined) problems.add(where, `duplicate ${what} ${value} (also ${earlier})`);
    else seen.set(`${what} ${value}`, where);
  };
  nodes.forEach((node, index) => {
    if (node.id !== "") claim(node.id, `nodes[${index}].id`, "node id");
    if (node.client.port !== 0)
      claim(formatAddress(node.client), `nodes[${index}].client`, "address");
    if (node.peer.port !== 0) claim(formatAddress(node.peer), `nodes[${index}].peer`, "address");
    claim(node.dataDir, `nodes[${index}].data_dir`, "data directory");
  });
}

/** Parses and validates a cluster file's text; `source` names it in errors. */
export function parseClusterConfig(source: string, contents: string): ClusterConfig {
  const document = parseDocument(contents, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const detail = document.errors.map((error) => error.message.split("\n")[0]).join("; ");
    throw new ConfigError(`${source} is not valid YAML: ${detail}`, { source });
  }
  const problems = new Problems();
  const root = fieldsAt(
    document.toJS(),
    "(top)",
    ["version", "cluster", "defaults", "nodes"],
    problems,
  );
  if (root.version !== formatVersion) {
    problems.add("version", `must be ${formatVersion}, got ${JSON.stringify(root.version)}`);
  }
  const cluster = fieldsAt(
    root.cluster,
    "cluster",
    ["name", "groups", "replication_factor", "rebalance"],
    problems,
  );
  const rebalance = fieldsAt(
    cluster.rebalance,
    "cluster.rebalance",
    ["moves_max", "snapshots_per_node_max"],
    problems,
  );
  const defaults = fieldsAt(root.defaults, "defaults", ["data_dir", "weight"], problems);
  const nodeEntries = Array.isArray(root.nodes) ? root.nodes : [];
  if (nodeEntries.length === 0) problems.add("nodes", "must list at least one node");
  const nodes = nodeEntries.map((entry, index) => parseNode(entry, index, defaults, problems));
  checkUnique(nodes, problems);
  const replicationFactor = positiveInteger(
    cluster.replication_factor,
    "cluster.replication_factor",
    Math.min(3, nodes.length),
    problems,
  );
  const serving = nodes.filter((node) => !node.draining).length;
  if (nodes.length > 0 && replicationFactor > serving) {
    problems.add(
      "cluster.replication_factor",
      `${replicationFactor} needs at least that many nodes that are not draining; there are ${serving}`,
    );
  }
  const groups = positiveInteger(cluster.groups, "cluster.groups", defaultGroupCount, problems);
  if (groups > groupCountMax) {
    problems.add("cluster.groups", `must be at most ${groupCountMax}, got ${groups}`);
  }
  const config: ClusterConfig = {
    name: text(cluster.name, "cluster.name", "memraft", problems),
    groups,
    replicationFactor,
    rebalance: {
      movesMax: positiveInteger(
        rebalance.moves_max,
        "cluster.rebalance.moves_max",
        defaultRebalanceLimits.movesMax,
        problems,
      ),
      snapshotsPerNodeMax: positiveInteger(
        rebalance.snapshots_per_node_max,
        "cluster.rebalance.snapshots_per_node_max",
        defaultRebalanceLimits.snapshotsPerNodeMax,
        problems,
      ),
    },
    nodes,
  };
  if (problems.list.length > 0) {
    throw new ConfigError(
      `${source} has ${problems.list.length} problem(s):\n  ${problems.list.join("\n  ")}`,
      {
        source,
      },
    );
  }
  return config;
}

export function loadClusterConfig(path: string): ClusterConfig {
  let contents: string;
  try {
    contents = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read cluster file ${path}: ${(error as Error).message}`, {
      path,
    });
  }
  return parseClusterConfig(path, contents);
}

/** The entry for `id`, or an error that lists the ids the file knows. */
export function nodeById(config: ClusterConfig, id: string, source: string): NodeConfig {
  const node = config.nodes.find((candidate) => candidate.id === id);
  if (node !== undefined) return node;
  const known = config.nodes.map((candidate) => candidate.id).join(", ");
  throw new ConfigError(`${source} has no node "${id}" (it lists: ${known})`, { id, source });
}
