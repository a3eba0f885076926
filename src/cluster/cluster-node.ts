// A node's part in the cluster, beyond serving requests:
//   - finding its place when its data directory is blank (cluster-identity.ts):
//     a founding node creates its replicas of the founding placement, a new
//     node waits for the rebalancer to give it some;
//   - following the committed configuration (peers, routing, the slot map)
//     and saying so when its own cluster file differs from it;
//   - on the metadata group's leader: writing the founding records, and
//     running the rebalancer;
//   - deleting replicas it finds it no longer belongs to (a node that was
//     down when its replica moved away);
//   - `cluster status` and `cluster apply` (server/cluster-commands.ts), and
//     the same apply when the operator sends SIGHUP.

import { writeFileDurably } from "../fs/durable-file.js";
import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { PeerAddress } from "../raft/transport/tcp-transport.js";
import type { GroupId, NodeId } from "../raft/types.js";
import { evenSlotMap, type SlotMap, SlotTable } from "../ring/slot-map.js";
import { decodeSlotMap, encodeSlotMap } from "../ring/slot-map-format.js";
import type { ClusterAdmin } from "../server/cluster-commands.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import {
  decideStart,
  type HelloReply,
  type Identity,
  readIdentity,
  writeIdentity,
} from "./cluster-identity.js";
import { buildStatus } from "./cluster-status.js";
import { parseClusterConfig } from "./config.js";
import { AdminMethod, memberStatus, type NodeInfo, serveGroupAdmin } from "./group-admin.js";
import type { GroupClient } from "./group-client.js";
import { groupName, metadataGroupId } from "./group-ids.js";
import { leaderStatus } from "./leader-status.js";
import type { GroupReplicas, Metadata, RebalanceRecord } from "./metadata.js";
import { raftNodeId } from "./node-identity.js";
import type { NodeRuntime } from "./node-runtime.js";
import { Rebalancer, targetPlacement } from "./rebalancer.js";
import type { Routing } from "./routing.js";
import { type CommittedConfig, type Topology, topologyDigest, topologyOf } from "./topology.js";
import { topologyChangeProblems } from "./topology-change.js";

export interface ClusterNodeOptions {
  readonly runtime: NodeRuntime;
  readonly groups: GroupClient;
  readonly metadata: Metadata;
  readonly routing: Routing;
  readonly fs: FileSystem;
  readonly dataDir: string;
  /** This node's id in the cluster file. */
  readonly selfId: string;
  /** The node's own cluster file, as read at start (or at the last reload). */
  readonly fileTopology: Topology;
  /** Started without a cluster file: a cluster of one that cannot grow. */
  readonly standalone: boolean;
  /** How long a command may wait, in all. */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

/** How often the node reads the committed configuration and replica placement. */
const syncIntervalMs = 1000;
/** How often the metadata leader runs the rebalancer. */
const rebalanceIntervalMs = 250;
/** Every this many syncs, the node looks for replicas it no longer belongs to. */
const orphanCheckEverySyncs = 5;

export type ApplyResult = { readonly version: number } | { readonly problems: string[] };

export class ClusterNode {
  readonly selfRaftId: NodeId;
  private fileTopology: Topology;
  private fileDigest: string;
  private identity: Identity | undefined;
  private committed: CommittedConfig | undefined;
  private rebalanceRecord: RebalanceRecord | undefined;
  private replicas: ReadonlyMap<number, GroupReplicas> = new Map();
  /** Unknown until learned: a node never routes a key by a map the cluster has not committed. */
  private slotTable: SlotTable | undefined;
  /** The encoded slot map routed by, to tell a new one from the same one read again. */
  private slotMapBytes: Buffer | undefined;
  private readonly slotTableWaiters = new Map<(table: SlotTable) => void, NodeJS.Timeout>();
  private readonly rebalancer: Rebalancer;
  private readonly startedAtMs = Date.now();
  private invited = false;
  private stopped = false;
  private settled: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private syncs = 0;
  private warnedVersion = 0;

  readonly admin: ClusterAdmin = {
    status: () => this.status(),
    apply: (file) => this.applyFile(file.toString("utf8"), "cluster apply"),
  };

  constructor(private readonly options: ClusterNodeOptions) {
    this.selfRaftId = raftNodeId(options.selfId);
    this.fileTopology = options.fileTopology;
    this.fileDigest = topologyDigest(options.fileTopology);
    this.followPlacement(options.fileTopology);
    const { runtime, logger } = options;
    this.rebalancer = new Rebalancer({
      rpc: runtime.rpc,
      metadata: options.metadata,
      routing: options.routing,
      localLeaderHint: (groupId) => runtime.members.get(groupId)?.leaderId ?? 0,
      logger: logger.child({ component: "rebalancer" }),
    });
    runtime.rpc.handle(AdminMethod.hello, async () =>
      Buffer.from(JSON.stringify(this.hello()), "utf8"),
    );
    serveGroupAdmin({
      runtime,
      nodeId: this.selfRaftId,
      nodeInfo: () => this.nodeInfo(),
      leaderHint: (groupId) => options.routing.leaderOf(groupId) ?? 0,
      onHostRequest: () => this.invitedToJoin(),
      logger,
    });
  }

  /**
   * The key's data group. While the node has not learned the slot map yet
   * (a new node joining), the answer waits for it, up to the request
   * timeout.
   */
  groupOf(key: string): GroupId | Promise<GroupId> {
    if (this.slotTable !== undefined) return this.slotTable.groupOfKey(key);
    return this.slotTableLearned().then((table) => table.groupOfKey(key));
  }

  private slotTableLearned(): Promise<SlotTable> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.slotTableWaiters.delete(resolve);
        reject(
          new MemraftError(
            "ERR_UNAVAILABLE",
            "this node has not learned the cluster's slot map yet (it is joining, or the metadata group is unreachable)",
          ),
        );
      }, this.options.requestTimeoutMs);
      this.slotTableWaiters.set(resolve, timer);
    });
  }

  /** The data groups of the cluster's slot map; none while the map is not known. */
  dataGroupIds(): readonly GroupId[] {
    return this.slotTable?.groups ?? [];
  }

  /** Routes by `map` from now on, and keeps a copy for the next start. */
  private async followSlotMap(map: SlotMap): Promise<void> {
    const bytes = encodeSlotMap(map);
    if (this.slotMapBytes?.equals(bytes) === true) return;
    await writeFileDurably(this.options.fs, this.slotMapPath, bytes);
    const table = new SlotTable(map);
    this.slotTable = table;
    this.slotMapBytes = bytes;
    for (const [resolve, timer] of this.slotTableWaiters) {
      clearTimeout(timer);
      resolve(table);
    }
    this.slotTableWaiters.clear();
    this.options.logger.info(
      { epoch: map.epoch, groups: this.dataGroupIds().length },
      "routing keys by the cluster's slot map",
    );
  }

  private get slotMapPath(): string {
    return joinPath(joinPath(this.options.dataDir, "meta"), "slotmap");
  }

  /**
   * Finds this node's place, then follows the cluster. Resolves once the
   * node has its replicas, except for a blank node that must hear from
   * other nodes first: that one carries on in the background (its commands
   * wait meanwhile), so nodes started one after another can all come up.
   */
  async start(): Promise<void> {
    const { fs, dataDir } = this.options;
    const alone =
      this.options.standalone ||
      this.fileTopology.nodes.every((node) => node.id === this.options.selfId);
    const known = await readIdentity(fs, dataDir);
    if (await fs.exists(this.slotMapPath)) {
      const path = this.slotMapPath;
      this.slotTable = new SlotTable(decodeSlotMap(await fs.readFile(path), path));
      this.slotMapBytes = encodeSlotMap(this.slotTable.map);
    }
    this.settled = this.settle();
    this.settled.then(
      () => this.startLoops(),
      (error: unknown) => {
        if (!this.stopped) {
          this.options.logger.fatal({ err: error }, "node could not take its place in the cluster");
        }
      },
    );
    if (alone || known !== undefined) await this.settled;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** SIGHUP: the operator changed this node's cluster file; propose it. */
  async reload(contents: string, source: string): Promise<ApplyResult> {
    const result = await this.applyFile(contents, source);
    if ("version" in result) {
      this.options.logger.info({ version: result.version, source }, "cluster file applied");
    } else {
      this.options.logger.warn({ problems: result.problems, source }, "cluster file refused");
    }
    return result;
  }

  // ---- finding our place -----------------------------------------------------

  private async settle(): Promise<void> {
    const { fs, dataDir, runtime, logger } = this.options;
    this.identity = await readIdentity(fs, dataDir);
    if (this.identity === undefined) {
      if (!runtime.isBlank) {
        throw new MemraftError(
          "ERR_CORRUPTION",
          `${dataDir} hosts groups but has no identity record (meta/identity); refusing to guess`,
          { dataDir },
        );
      }
      const others = this.fileTopology.nodes
        .filter((node) => node.id !== this.options.selfId)
        .map((node) => ({ id: node.id, raftId: raftNodeId(node.id) }));
      const decision =
        this.options.standalone || others.length === 0
          ? "found"
          : await decideStart({
              rpc: runtime.rpc,
              clusterName: this.fileTopology.name,
              selfId: this.options.selfId,
              fileDigest: this.fileDigest,
              others,
              logger,
              invited: () => this.invited,
              stopped: () => this.stopped,
            });
      this.identity =
        decision === "found"
          ? {
              clusterName: this.fileTopology.name,
              nodeId: this.options.selfId,
              origin: "founding",
              foundingDigest: this.fileDigest,
              foundingNodes: this.fileTopology.nodes.map((node) => node.id),
              settled: false,
            }
          : {
              clusterName: this.fileTopology.name,
              nodeId: this.options.selfId,
              origin: "joined",
              settled: true,
            };
      await writeIdentity(fs, dataDir, this.identity);
      logger.info({ origin: this.identity.origin }, "node identity recorded");
    }
    if (this.identity.nodeId !== this.options.selfId) {
      throw new MemraftError(
        "ERR_CONFIG",
        `${dataDir} belongs to node ${this.identity.nodeId}, not ${this.options.selfId}`,
        { dataDir },
      );
    }
    if (!this.identity.settled) {
      // The founding placement, from the founding file (this one, unchanged).
      const founding = [...targetPlacement(this.fileTopology)]
        .filter(([, nodes]) => nodes.includes(this.options.selfId))
        .map(([groupId, nodes]) => ({ groupId, bootstrapVoters: nodes.map(raftNodeId) }));
      await runtime.hostGroups(founding);
      // The slot map the founding records commit (writeFoundingRecords).
      await this.followSlotMap(evenSlotMap(this.fileTopology.groups));
      this.identity = { ...this.identity, settled: true };
      await writeIdentity(fs, dataDir, this.identity);
      logger.info({ groups: runtime.members.size }, "founding replicas created");
    }
  }

  private async invitedToJoin(): Promise<void> {
    this.invited = true;
    await this.settled;
  }

  private hello(): HelloReply {
    const identity = this.identity;
    return {
      clusterName: identity?.clusterName ?? this.fileTopology.name,
      state: identity === undefined ? "blank" : identity.origin,
      fileDigest: this.fileDigest,
      ...(identity?.foundingDigest === undefined
        ? {}
        : { foundingDigest: identity.foundingDigest, foundingNodes: identity.foundingNodes }),
    };
  }

  // ---- following the cluster ---------------------------------------------------

  private startLoops(): void {
    if (this.stopped) return;
    const every = (ms: number, work: () => Promise<void>) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy || this.stopped) return;
        busy = true;
        work()
          .catch((error: unknown) =>
            this.options.logger.debug({ err: error }, "cluster background work failed; retrying"),
          )
          .finally(() => {
            busy = false;
          });
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(syncIntervalMs, () => this.sync());
    every(rebalanceIntervalMs, () => this.metadataDuties());
  }

  /** Reads the committed configuration and placement, and follows them. */
  private async sync(): Promise<void> {
    const { metadata, logger } = this.options;
    const config = await metadata.config();
    if (config === undefined) return;
    this.committed = config.value;
    this.followPeers();
    const committedDigest = topologyDigest(config.value.topology);
    if (committedDigest !== this.fileDigest && this.warnedVersion !== config.value.version) {
      this.warnedVersion = config.value.version;
      logger.warn(
        { committedVersion: config.value.version, committedDigest, fileDigest: this.fileDigest },
        "this node's cluster file differs from the committed configuration; the cluster follows the committed one (apply the file to change it)",
      );
    }
    const slotMap = await metadata.slotMap();
    if (slotMap !== undefined) await this.followSlotMap(slotMap.value);
    const replicas = await metadata.replicas();
    if (replicas !== undefined) {
      this.replicas = replicas.value;
      for (const [groupId, group] of replicas.value) {
        this.options.routing.setReplicas(groupId, group.voters.map(raftNodeId));
      }
    }
    this.rebalanceRecord = (await metadata.rebalance())?.value;
    if (++this.syncs % orphanCheckEverySyncs === 0) await this.dropOrphans();
  }

  /** Peers: every node of the committed configuration and of this node's file. */
  private followPeers(): void {
    if (this.options.standalone) return;
    const peers = new Map<NodeId, PeerAddress>();
    for (const node of this.fileTopology.nodes) peers.set(raftNodeId(node.id), node.peer);
    for (const node of this.committed?.topology.nodes ?? []) {
      peers.set(raftNodeId(node.id), node.peer);
    }
    this.options.runtime.setPeers(peers);
  }

  /** Routing hints from a placement, before the metadata group says better. */
  private followPlacement(topology: Topology): void {
    for (const [groupId, nodes] of targetPlacement(topology)) {
      this.options.routing.setReplicas(groupId, nodes.map(raftNodeId));
    }
  }

  /**
   * Replicas this node hosts but no longer belongs to (it was down when the
   * replica moved away): deleted once the group's leader confirms it.
   */
  private async dropOrphans(): Promise<void> {
    const { runtime, routing, logger } = this.options;
    const self = this.options.selfId;
    const arriving = new Set(
      (this.rebalanceRecord?.moves ?? [])
        .filter((move) => move.to === self)
        .map((move) => move.groupId),
    );
    for (const member of [...runtime.members.values()]) {
      const recorded = this.replicas.get(member.groupId);
      if (recorded === undefined || member.isLeader || arriving.has(member.groupId)) continue;
      if (recorded.voters.includes(self) || recorded.learners.includes(self)) continue;
      const status = await leaderStatus(
        runtime.rpc,
        routing,
        member.groupId,
        recorded.voters.map(raftNodeId),
        logger,
      );
      if (status === undefined || status.joint) continue;
      if (status.voters.includes(this.selfRaftId) || status.learners.includes(this.selfRaftId))
        continue;
      logger.info(
        { group: groupName(member.groupId) },
        "this node's replica left the group while it was away; deleting it",
      );
      await runtime.dropGroup(member.groupId);
    }
  }

  /** On the metadata group's leader: the founding records, then the rebalancer. */
  private async metadataDuties(): Promise<void> {
    const member = this.options.runtime.members.get(metadataGroupId);
    if (!member?.isLeader) return;
    const { metadata } = this.options;
    if ((await metadata.config()) === undefined) {
      await this.writeFoundingRecords();
      return;
    }
    await this.rebalancer.tick(Date.now());
  }

  /**
   * The records the cluster starts with, from the founding file: the slot
   * map, the founding placement, and last the configuration (its presence
   * says the others are there).
   */
  private async writeFoundingRecords(): Promise<void> {
    const { metadata, logger } = this.options;
    if (this.identity?.origin !== "founding") return;
    const topology = this.fileTopology;
    if (topologyDigest(topology) !== this.identity.foundingDigest) {
      logger.error(
        "the cluster file changed before the cluster's first configuration was recorded; restore the founding file",
      );
      return;
    }
    if ((await metadata.slotMap()) === undefined) {
      await metadata.writeSlotMap(evenSlotMap(topology.groups), undefined);
    }
    if ((await metadata.replicas()) === undefined) {
      const replicas = new Map<number, GroupReplicas>();
      for (const [groupId, nodes] of targetPlacement(topology)) {
        replicas.set(groupId, { voters: nodes, learners: [] });
      }
      await metadata.writeReplicas(replicas, undefined);
    }
    if (await metadata.writeConfig({ version: 1, topology, retired: [] }, undefined)) {
      logger.info({ digest: this.fileDigest }, "cluster founded: configuration 1 committed");
    }
  }

  // ---- administration ------------------------------------------------------------

  private async applyFile(contents: string, source: string): Promise<ApplyResult> {
    if (this.options.standalone) {
      return {
        problems: [
          "this node was started without a cluster file (a cluster of one); start nodes with --config to form a cluster",
        ],
      };
    }
    let topology: Topology;
    try {
      topology = topologyOf(parseClusterConfig(source, contents));
    } catch (error) {
      return { problems: [(error as Error).message] };
    }
    const { metadata } = this.options;
    const config = await metadata.config();
    const replicas = await metadata.replicas();
    if (config === undefined || replicas === undefined) {
      return { problems: ["the cluster has not recorded its first configuration yet; try again"] };
    }
    if (topologyDigest(topology) === topologyDigest(config.value.topology)) {
      return { version: config.value.version };
    }
    const problems = topologyChangeProblems(config.value, topology, replicas.value);
    if (problems.length > 0) return { problems };
    const ids = new Set(topology.nodes.map((node) => node.id));
    const deleted = config.value.topology.nodes.map((node) => node.id).filter((id) => !ids.has(id));
    const next: CommittedConfig = {
      version: config.value.version + 1,
      topology,
      retired: [...config.value.retired, ...deleted],
    };
    if (!(await metadata.writeConfig(next, config.cas))) {
      return { problems: ["the configuration changed while this one was checked; apply again"] };
    }
    this.options.logger.info(
      { version: next.version, digest: topologyDigest(topology), source },
      "configuration committed",
    );
    if (source !== "cluster apply") {
      this.fileTopology = topology;
      this.fileDigest = topologyDigest(topology);
    }
    return { version: next.version };
  }

  private nodeInfo(): NodeInfo {
    const committed = this.committed;
    const committedDigest =
      committed === undefined ? undefined : topologyDigest(committed.topology);
    return {
      nodeId: this.options.selfId,
      raftId: this.selfRaftId,
      startedAtMs: this.startedAtMs,
      fileDigest: this.fileDigest,
      committedVersion: committed?.version,
      fileMatchesCommitted:
        committedDigest === undefined ? undefined : committedDigest === this.fileDigest,
      snapshotsInstalled: this.options.runtime.snapshotsInstalled,
      groups: [...this.options.runtime.members.values()].map(memberStatus),
    };
  }

  private async status(): Promise<string> {
    const { metadata, runtime } = this.options;
    const config = await metadata.config();
    if (config === undefined) {
      throw new MemraftError(
        "ERR_UNAVAILABLE",
        "the cluster has not recorded its configuration yet",
      );
    }
    const [replicas, rebalance, slotMap] = await Promise.all([
      metadata.replicas(),
      metadata.rebalance(),
      metadata.slotMap(),
    ]);
    const status = await buildStatus({
      rpc: runtime.rpc,
      self: this.options.selfId,
      config: config.value,
      replicas: replicas?.value ?? new Map(),
      rebalance: rebalance?.value,
      slotMap: slotMap?.value,
    });
    return JSON.stringify(status);
  }
}
