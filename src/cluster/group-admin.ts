// The requests nodes make of each other to manage replicas (peer-rpc.ts,
// JSON bodies: these are rare and small): report this node's groups, host a
// new replica, drop an old one, and, on a group's leader, change the
// group's configuration or hand leadership over.

import { type ConfChange, ConfChangeType } from "../raft/conf-change.js";
import type { GroupId, NodeId } from "../raft/types.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { groupName } from "./group-ids.js";
import type { GroupMember } from "./group-member.js";
import type { NodeRuntime } from "./node-runtime.js";
import type { PeerRpc } from "./peer-rpc.js";

/** A member heard from within this many ticks counts as active (two election timeouts' worth at the defaults). */
const recentTicksMax = 40;

/** Peer request methods; numbers travel on the wire (1-5 are taken elsewhere). */
export const AdminMethod = {
  hello: 6,
  nodeInfo: 7,
  hostGroup: 8,
  dropGroup: 9,
  groupChange: 10,
  groupStatus: 11,
} as const;

export interface PeerProgress {
  readonly match: number;
  readonly next: number;
  readonly state: string;
  readonly learner: boolean;
  readonly recentActive: boolean;
}

/** One node's member of one group, as that node sees it. */
export interface MemberStatus {
  readonly groupId: GroupId;
  readonly role: string;
  readonly leader: NodeId;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Between the two halves of a joint membership change. */
  readonly joint: boolean;
  /** Idle: no ticks, no heartbeats until something happens (Raft.quiesced). */
  readonly quiet: boolean;
  /** On a leader: each other member's replication progress, by Raft node id. */
  readonly progress?: Readonly<Record<string, PeerProgress>>;
}

export interface NodeInfo {
  readonly nodeId: string;
  readonly raftId: NodeId;
  readonly startedAtMs: number;
  /** The digest of this node's cluster file, and whether it matches the committed configuration. */
  readonly fileDigest: string;
  readonly committedVersion: number | undefined;
  readonly fileMatchesCommitted: boolean | undefined;
  readonly snapshotsInstalled: number;
  readonly groups: readonly MemberStatus[];
}

export type GroupChange =
  | { readonly op: "add-learner" | "promote" | "remove" | "transfer"; readonly node: NodeId }
  | { readonly op: "replace"; readonly node: NodeId; readonly replacing: NodeId };

export interface GroupChangeRequest {
  readonly groupId: GroupId;
  readonly change: GroupChange;
}

export async function callJson<T>(
  rpc: PeerRpc,
  to: NodeId,
  method: number,
  body: unknown,
  timeoutMs: number,
): Promise<T> {
  const reply = await rpc.call(to, method, Buffer.from(JSON.stringify(body), "utf8"), timeoutMs);
  return JSON.parse(reply.toString("utf8")) as T;
}

function jsonReply(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? {}), "utf8");
}

export function memberStatus(member: GroupMember): MemberStatus {
  const status = member.raw.status();
  const progress: Record<string, PeerProgress> = {};
  for (const peer of status.peers ?? []) {
    progress[peer.id] = {
      match: peer.match,
      next: peer.next,
      state: peer.state,
      learner: peer.membership === "learner",
      recentActive: peer.ticksSinceHeard < recentTicksMax,
    };
  }
  return {
    groupId: member.groupId,
    role: status.role,
    leader: status.lead,
    term: status.hardState.term,
    commit: status.hardState.commit,
    applied: member.appliedIndex,
    lastIndex: status.lastIndex,
    voters: status.conf.voters,
    learners: status.conf.learners,
    joint: status.joint,
    quiet: status.quiesced,
    ...(status.peers === undefined ? {} : { progress }),
  };
}

export interface GroupAdminOptions {
  readonly runtime: NodeRuntime;
  readonly nodeId: NodeId;
  readonly nodeInfo: () => NodeInfo;
  /** Whom this node believes leads a group it does not host, or 0. */
  readonly leaderHint: (groupId: GroupId) => NodeId;
  /** A request to host a group came: the cluster exists and counts on this node. */
  readonly onHostRequest: () => Promise<void>;
  readonly logger: Logger;
}

/** Serves the replica-management requests on this node. */
export function serveGroupAdmin(options: GroupAdminOptions): void {
  const { runtime, logger } = options;
  const rpc = runtime.rpc;
  const parse = <T>(body: Buffer) => JSON.parse(body.toString("utf8")) as T;
  rpc.handle(AdminMethod.nodeInfo, async () => jsonReply(options.nodeInfo()));
  rpc.handle(AdminMethod.hostGroup, async (from, body) => {
    const { groupId } = parse<{ groupId: GroupId }>(body);
    await options.onHostRequest();
    if (!runtime.members.has(groupId)) {
      logger.info({ group: groupName(groupId), from }, "hosting a new replica (it joins empty)");
    }
    await runtime.hostGroup(groupId, []);
    return jsonReply({});
  });
  rpc.handle(AdminMethod.dropGroup, async (from, body) => {
    const { groupId } = parse<{ groupId: GroupId }>(body);
    const member = runtime.members.get(groupId);
    if (member?.isLeader) {
      throw new MemraftError(
        "ERR_CONFIG",
        `node ${options.nodeId} leads group ${groupName(groupId)}; a leader never drops its own replica`,
        { groupId },
      );
    }
    if (member !== undefined) {
      logger.info({ group: groupName(groupId), from }, "dropping a replica that left the group");
    }
    await runtime.dropGroup(groupId);
    return jsonReply({});
  });
  rpc.handle(AdminMethod.groupStatus, async (_from, body) => {
    const { groupId } = parse<{ groupId: GroupId }>(body);
    const member = runtime.members.get(groupId);
    if (member === undefined) {
      throw new MemraftError(
        "ERR_NOT_LEADER",
        `node ${options.nodeId} has no replica of group ${groupName(groupId)}`,
        { groupId, leader: options.leaderHint(groupId) },
      );
    }
    return jsonReply(memberStatus(member));
  });
  rpc.handle(AdminMethod.groupChange, async (_from, body) => {
    const { groupId, change } = parse<GroupChangeRequest>(body);
    const member = runtime.members.get(groupId);
    if (!member?.isLeader) {
      throw new MemraftError(
        "ERR_NOT_LEADER",
        `node ${options.nodeId} does not lead group ${groupName(groupId)}`,
        { groupId, leader: member?.leaderId || options.leaderHint(groupId) },
      );
    }
    logger.info({ group: groupName(groupId), change }, "changing a group's replicas");
    await applyChange(member, change, runtime);
    return jsonReply(memberStatus(member));
  });
}

async function applyChange(member: GroupMember, change: GroupChange, runtime: NodeRuntime) {
  const propose = (changes: ConfChange[]) => {
    const applied = member.proposeConfChange(changes);
    runtime.schedule();
    return applied;
  };
  switch (change.op) {
    case "add-learner":
      return propose([{ type: ConfChangeType.addLearner, nodeId: change.node }]);
    case "promote":
      return propose([{ type: ConfChangeType.addVoter, nodeId: change.node }]);
    case "remove":
      return propose([{ type: ConfChangeType.removeNode, nodeId: change.node }]);
    case "replace":
      // One joint change: the group is never without a majority of either set.
      return propose([
        { type: ConfChangeType.addVoter, nodeId: change.node },
        { type: ConfChangeType.removeNode, nodeId: change.replacing },
      ]);
    case "transfer":
      member.raw.transferLeadership(change.node);
      runtime.schedule();
      return;
  }
}
