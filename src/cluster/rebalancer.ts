// The rebalancer: on the node that leads the metadata group, it moves
// replicas until every group sits where the committed configuration's
// placement wants it. A move of group g from node A to node B:
//
//   1. B hosts an empty replica of g; g's leader adds B as a learner;
//   2. B catches up (by snapshot: a new replica starts with nothing);
//   3. if A leads g, leadership goes to another voter first;
//   4. one membership change promotes B and removes A;
//   5. A deletes its replica.
//
// Every tick looks at each group in flight as its leader sees it and takes
// the next step from there, so nothing about a move lives only in memory:
// the moves in flight are recorded in the metadata group (before their
// first step), and a new metadata leader, after any crash, carries on from
// what it finds. Steps are idempotent; a step that fails is tried again.

import type { GroupId, NodeId } from "../raft/types.js";
import { evenOutPlacement, type Placement } from "../ring/placement.js";
import type { Logger } from "../util/logger.js";
import {
  AdminMethod,
  callJson,
  type GroupChange,
  type MemberStatus,
  type PeerProgress,
} from "./group-admin.js";
import { dataGroupIds, groupName, metadataGroupId } from "./group-ids.js";
import { leaderStatus } from "./leader-status.js";
import type { GroupReplicas, Metadata, Move, MovePhase, RebalanceRecord } from "./metadata.js";
import { raftNodeId } from "./node-identity.js";
import type { PeerRpc } from "./peer-rpc.js";
import { movesToStart, pendingChanges } from "./rebalance-plan.js";
import type { Routing } from "./routing.js";
import type { CommittedConfig, Topology } from "./topology.js";

/** A learner this close to the leader's commit index is ready to vote. */
const catchUpLagMax = 100;
const requestTimeoutMs = 5000;

export interface RebalancerOptions {
  readonly rpc: PeerRpc;
  readonly metadata: Metadata;
  readonly routing: Routing;
  /** This node's member of a group, if it hosts one (for its leader hint). */
  readonly localLeaderHint: (groupId: GroupId) => NodeId;
  readonly logger: Logger;
}

interface Step {
  /** The move as it stands after this step, or undefined once it is complete. */
  readonly move: Move | undefined;
  /** The group's replicas as last seen, to record. */
  readonly replicas?: GroupReplicas;
}

/**
 * Where every group (the metadata group included) should be, from where the
 * replicas are now (nothing, for the founding placement).
 */
export function targetPlacement(topology: Topology, current: Placement = new Map()): Placement {
  return evenOutPlacement(
    current,
    [...dataGroupIds(topology.groups), metadataGroupId],
    topology.nodes,
    topology.replicationFactor,
  );
}

export class Rebalancer {
  private running = false;

  constructor(private readonly options: RebalancerOptions) {}

  /** One pass: advance every move in flight, record what changed, start what the limits allow. */
  async tick(nowMs: number): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.pass(nowMs);
    } finally {
      this.running = false;
    }
  }

  private async pass(nowMs: number): Promise<void> {
    const { metadata } = this.options;
    const config = await metadata.config();
    const replicas = await metadata.replicas();
    if (config === undefined || replicas === undefined) return;
    const stored = await metadata.rebalance();
    const topology = config.value.topology;
    const names = nodeNames(config.value);
    const current = new Map(replicas.value);
    let replicasChanged = false;
    const before: RebalanceRecord = stored?.value ?? {
      configVersion: 0,
      planned: 0,
      done: 0,
      moves: [],
      startedAtMs: nowMs,
    };
    const still: Move[] = [];
    let done = 0;
    for (const move of before.moves) {
      const step = await this.advance(move, current.get(move.groupId), names);
      if (step.replicas !== undefined && !sameReplicas(step.replicas, current.get(move.groupId))) {
        current.set(move.groupId, step.replicas);
        replicasChanged = true;
      }
      if (step.move === undefined) done++;
      else still.push(step.move);
    }
    const target = targetPlacement(topology, votersOf(current));
    const pending = pendingChanges(current, target, still);
    const draining = new Set(topology.nodes.filter((node) => node.draining).map((node) => node.id));
    const started = movesToStart(pending, still, topology.rebalance, draining, nowMs);
    const moves = [...still, ...started];
    const newVersion = before.configVersion !== config.value.version;
    const finished = moves.length === 0 && pending.length === 0;
    const after: RebalanceRecord = {
      configVersion: config.value.version,
      planned: newVersion
        ? still.length + pending.length
        : Math.max(before.planned, before.done + done + still.length + pending.length),
      done: newVersion ? 0 : before.done + done,
      moves,
      startedAtMs: newVersion ? nowMs : before.startedAtMs,
      ...(finished ? { finishedAtMs: before.finishedAtMs ?? nowMs } : {}),
    };
    for (const move of started) {
      this.options.logger.info(
        { group: groupName(move.groupId), kind: move.kind, from: move.from, to: move.to },
        "rebalance: move planned",
      );
    }
    if (replicasChanged && !(await metadata.writeReplicas(current, replicas.cas))) return;
    if (JSON.stringify(after) !== JSON.stringify(stored?.value)) {
      await metadata.writeRebalance(after, stored?.cas);
    }
  }

  /** The next step of one move, from what the group's leader reports now. */
  private async advance(
    move: Move,
    recorded: GroupReplicas | undefined,
    names: ReadonlyMap<NodeId, string>,
  ): Promise<Step> {
    try {
      const { rpc, routing, logger } = this.options;
      const hints = [
        this.options.localLeaderHint(move.groupId),
        ...(recorded?.voters ?? []).map(raftNodeId),
      ];
      const status = await leaderStatus(rpc, routing, move.groupId, hints, logger);
      if (status === undefined) return waiting(move, "no leader of the group answers");
      return await this.stepFrom(move, status, names);
    } catch (error) {
      this.options.logger.debug(
        { group: groupName(move.groupId), move, err: error },
        "rebalance step failed; will retry",
      );
      return waiting(move, (error as Error).message);
    }
  }

  private async stepFrom(
    move: Move,
    status: MemberStatus,
    names: ReadonlyMap<NodeId, string>,
  ): Promise<Step> {
    const nameOf = (id: NodeId) => names.get(id) ?? `#${id}`;
    const seen: GroupReplicas = {
      voters: status.voters.map(nameOf),
      learners: status.learners.map(nameOf),
    };
    const isVoter = (id: string | undefined) => id !== undefined && seen.voters.includes(id);
    const isMember = (id: string | undefined) => isVoter(id) || seen.learners.includes(id ?? "");
    const leader = nameOf(status.leader);
    const { from, to, groupId } = move;
    if (status.joint) return waiting(at(move, "swapping"), "leaving the joint configuration");
    if (move.kind === "remove" || (isVoter(to) && isMember(from))) {
      if (!isMember(from)) return this.complete(move, seen);
      if (leader === from) return this.handOver(move, status, from!, seen);
      await this.change(status, { op: "remove", node: raftNodeId(from!) });
      return { move: at(move, "removing"), replicas: seen };
    }
    if (isVoter(to)) return this.complete(move, seen);
    if (!isMember(to)) {
      // The replica to replace left by other means: nothing to move any more.
      if (move.kind === "move" && !isVoter(from)) return { move: undefined, replicas: seen };
      await callJson(
        this.options.rpc,
        raftNodeId(to!),
        AdminMethod.hostGroup,
        { groupId },
        requestTimeoutMs,
      );
      await this.change(status, { op: "add-learner", node: raftNodeId(to!) });
      return { move: at(move, "catching-up"), replicas: seen };
    }
    const progress = status.progress?.[raftNodeId(to!)];
    if (!caughtUp(progress, status.commit)) {
      const where =
        progress === undefined ? "not yet heard from" : `at ${progress.match} of ${status.commit}`;
      return waiting(at(move, "catching-up"), `learner ${where}`);
    }
    if (!isMember(from)) {
      await this.change(status, { op: "promote", node: raftNodeId(to!) });
      return { move: at(move, "swapping"), replicas: seen };
    }
    if (leader === from) return this.handOver(move, status, from!, seen);
    await this.change(status, {
      op: "replace",
      node: raftNodeId(to!),
      replacing: raftNodeId(from!),
    });
    return { move: at(move, "swapping"), replicas: seen };
  }

  /** The leaving replica leads: hand leadership to the best other voter first. */
  private async handOver(
    move: Move,
    status: MemberStatus,
    leaving: string,
    seen: GroupReplicas,
  ): Promise<Step> {
    const leavingId = raftNodeId(leaving);
    const candidates = status.voters
      .filter((id) => id !== leavingId)
      .map((id) => ({ id, progress: status.progress?.[id] }))
      .filter((candidate) => candidate.progress?.recentActive !== false)
      .sort((a, b) => (b.progress?.match ?? 0) - (a.progress?.match ?? 0));
    const heir = candidates[0];
    if (heir === undefined) return waiting(move, "no other voter can take leadership");
    await this.change(status, { op: "transfer", node: heir.id });
    return { move: at(move, "transferring-leader"), replicas: seen };
  }

  /** The group has its new replica and not the old: the old replica's data goes. */
  private async complete(move: Move, seen: GroupReplicas): Promise<Step> {
    if (move.from !== undefined) {
      try {
        await callJson(
          this.options.rpc,
          raftNodeId(move.from),
          AdminMethod.dropGroup,
          { groupId: move.groupId },
          requestTimeoutMs,
        );
      } catch (error) {
        // The old node may be down; it drops the replica itself when it
        // finds it is no longer a member (cluster-node.ts).
        this.options.logger.info(
          { group: groupName(move.groupId), node: move.from, err: (error as Error).message },
          "rebalance: old replica not deleted now; its node will delete it later",
        );
      }
    }
    this.options.logger.info(
      { group: groupName(move.groupId), kind: move.kind, from: move.from, to: move.to },
      "rebalance: move done",
    );
    return { move: undefined, replicas: seen };
  }

  private async change(status: MemberStatus, change: GroupChange): Promise<void> {
    await callJson(
      this.options.rpc,
      status.leader,
      AdminMethod.groupChange,
      { groupId: status.groupId, change },
      requestTimeoutMs,
    );
  }
}

function waiting(move: Move, why: string): Step {
  return { move: { ...move, waiting: why } };
}

/** The move in `phase`, no longer waiting for anything. */
function at(move: Move, phase: MovePhase): Move {
  const { waiting: _cleared, ...rest } = move;
  return { ...rest, phase };
}

function caughtUp(progress: PeerProgress | undefined, commit: number): boolean {
  return (
    progress !== undefined &&
    progress.state === "replicate" &&
    progress.match + catchUpLagMax >= commit
  );
}

function votersOf(replicas: ReadonlyMap<number, GroupReplicas>): Placement {
  return new Map([...replicas].map(([groupId, group]) => [groupId, group.voters]));
}

function sameReplicas(a: GroupReplicas, b: GroupReplicas | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Raft node id -> cluster file id, for every node of the committed configuration. */
export function nodeNames(config: CommittedConfig): Map<NodeId, string> {
  return new Map(config.topology.nodes.map((node) => [raftNodeId(node.id), node.id]));
}
