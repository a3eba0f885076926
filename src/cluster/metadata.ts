// The metadata group's records. The metadata group is an ordinary group
// (same log, LSM, snapshots and state machine as the data groups); its
// "items" are the cluster's shared facts, each a checked JSON record
// (checked-json.ts) or the ring's slot map format:
//
//   config     the committed configuration (topology.ts): what every node follows
//   slotmap    slot -> group ranges with their epoch (ring/slot-map-format.ts)
//   replicas   each group's replicas as the rebalancer last saw them commit
//   rebalance  the rebalance in progress: plan size, moves done, moves in flight
//
// Read-modify-write goes through cas: a writer reads a record with its cas
// and writes back only if nobody changed it in between, so two writers (an
// old and a new metadata leader, two `cluster apply` calls) cannot both win.

import type { SlotMap } from "../ring/slot-map.js";
import { decodeSlotMap, encodeSlotMap } from "../ring/slot-map-format.js";
import { assert } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import { decodeCheckedJson, encodeCheckedJson, type RecordKind } from "./checked-json.js";
import type { GroupClient } from "./group-client.js";
import { metadataGroupId } from "./group-ids.js";
import { type CommittedConfig, committedFromJson } from "./topology.js";

/** A group's replicas by node id (the cluster file's ids). */
export interface GroupReplicas {
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

export type MoveKind = "move" | "add" | "remove";

/** Where a move stands; shown by `memraft status`, re-derived from the group after a crash. */
export type MovePhase =
  | "adding-learner"
  | "catching-up"
  | "transferring-leader"
  | "swapping"
  | "removing"
  | "deleting-old-data";

export interface Move {
  readonly groupId: number;
  readonly kind: MoveKind;
  /** The replica leaving (move, remove). */
  readonly from?: string;
  /** The replica arriving (move, add). */
  readonly to?: string;
  readonly phase: MovePhase;
  readonly startedAtMs: number;
  /** Why the move is not advancing, when it is not. */
  readonly waiting?: string;
}

export interface RebalanceRecord {
  /** The committed configuration this rebalance works toward. */
  readonly configVersion: number;
  /** Replica changes the rebalance needed when it was planned (done ones included). */
  readonly planned: number;
  readonly done: number;
  readonly moves: readonly Move[];
  readonly startedAtMs: number;
  /** Set when nothing is left to do. */
  readonly finishedAtMs?: number;
}

const configKind: RecordKind = { magic: 0x4d524346, version: 1, name: "committed configuration" };
const replicasKind: RecordKind = { magic: 0x4d525250, version: 1, name: "replica placement" };
const rebalanceKind: RecordKind = { magic: 0x4d525242, version: 1, name: "rebalance progress" };

export const metadataKeys = {
  config: "config",
  slotMap: "slotmap",
  replicas: "replicas",
  rebalance: "rebalance",
} as const;

/** A record and the cas to write it back with. */
export interface Versioned<T> {
  readonly value: T;
  readonly cas: bigint;
}

/** Reads and writes the metadata group's records, wherever its leader is. */
export class Metadata {
  constructor(private readonly groups: GroupClient) {}

  config(): Promise<Versioned<CommittedConfig> | undefined> {
    return this.read(metadataKeys.config, (bytes, source) =>
      committedFromJson(decodeCheckedJson(configKind, bytes, source), source),
    );
  }

  slotMap(): Promise<Versioned<SlotMap> | undefined> {
    return this.read(metadataKeys.slotMap, (bytes, source) => decodeSlotMap(bytes, source));
  }

  replicas(): Promise<Versioned<Map<number, GroupReplicas>> | undefined> {
    return this.read(metadataKeys.replicas, (bytes, source) =>
      replicasFromJson(decodeCheckedJson(replicasKind, bytes, source), source),
    );
  }

  rebalance(): Promise<Versioned<RebalanceRecord> | undefined> {
    return this.read(
      metadataKeys.rebalance,
      (bytes, source) => decodeCheckedJson(rebalanceKind, bytes, source) as RebalanceRecord,
    );
  }

  /** Writes `value` if the record still has `cas` (undefined: if it does not exist yet). */
  writeConfig(value: CommittedConfig, cas: bigint | undefined): Promise<boolean> {
    return this.write(metadataKeys.config, encodeCheckedJson(configKind, value), cas);
  }

  writeSlotMap(value: SlotMap, cas: bigint | undefined): Promise<boolean> {
    return this.write(metadataKeys.slotMap, encodeSlotMap(value), cas);
  }

  writeReplicas(
    value: ReadonlyMap<number, GroupReplicas>,
    cas: bigint | undefined,
  ): Promise<boolean> {
    const json = Object.fromEntries([...value].map(([groupId, replicas]) => [groupId, replicas]));
    return this.write(metadataKeys.replicas, encodeCheckedJson(replicasKind, json), cas);
  }

  writeRebalance(value: RebalanceRecord, cas: bigint | undefined): Promise<boolean> {
    return this.write(metadataKeys.rebalance, encodeCheckedJson(rebalanceKind, value), cas);
  }

  private async read<T>(
    key: string,
    decode: (bytes: Buffer, source: string) => T,
  ): Promise<Versioned<T> | undefined> {
    const item = await this.groups.read(metadataGroupId, key);
    if (item === undefined) return undefined;
    return { value: decode(item.value, `metadata record "${key}"`), cas: item.cas };
  }

  /**
   * A cas write. If the answer is lost and the write retried, the retry
   * finds the record changed, by itself; a record now holding exactly the
   * bytes written counts as this writer's win.
   */
  private async write(key: string, value: Buffer, cas: bigint | undefined): Promise<boolean> {
    const outcome = await this.groups.propose(
      metadataGroupId,
      {
        kind: "store",
        request: {
          mode: cas === undefined ? "add" : "cas",
          key,
          value,
          flags: 0,
          exptime: 0,
          cas: cas ?? 0n,
        },
      },
      true,
    );
    assert(outcome?.kind === "store", "metadata write outcome");
    if (outcome.result.status === "stored") return true;
    if (outcome.result.status === "no_memory") {
      throw new MemraftError("ERR_UNAVAILABLE", `metadata record "${key}" does not fit`, { key });
    }
    const now = await this.groups.read(metadataGroupId, key);
    return now?.value.equals(value) === true;
  }
}

function replicasFromJson(value: unknown, source: string): Map<number, GroupReplicas> {
  const malformed = () =>
    new MemraftError("ERR_CORRUPTION", `${source}: replica placement is malformed`, {
      file: source,
      offset: 0,
    });
  if (typeof value !== "object" || value === null) throw malformed();
  const result = new Map<number, GroupReplicas>();
  const isIds = (ids: unknown) => Array.isArray(ids) && ids.every((id) => typeof id === "string");
  for (const [groupId, replicas] of Object.entries(value as Record<string, unknown>)) {
    const record = replicas as Partial<GroupReplicas> | null;
    if (record === null || !isIds(record.voters) || !isIds(record.learners)) throw malformed();
    result.set(Number(groupId), { voters: record.voters!, learners: record.learners! });
  }
  return result;
}
