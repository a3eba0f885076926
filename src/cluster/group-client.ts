// Runs commands on a group wherever its leader is: proposed here when this
// node leads the group, otherwise sent by request (peer-rpc.ts) to the node
// believed to lead it, which proposes it stamped with its own clock. Reads
// go the same way and are served after the leader confirms it still leads
// (ReadIndex), so they are linearizable.
//
// Retries follow ARCHITECTURE.md decision 6: a command that was certainly
// not applied (the node asked does not lead, or cannot be reached) is tried
// again, elsewhere if need be, until the deadline; a command whose fate is
// unknown (the leader went silent after taking it) is retried only when the
// caller says a second run is harmless (reads; cas writes that check the
// outcome themselves).

import { setTimeout as delay } from "node:timers/promises";
import type { GroupId, NodeId } from "../raft/types.js";
import type { Clock } from "../store/clock.js";
import { decodeStoreEntry, encodeStoreEntry, type StoreCommand } from "../store/entry-codec.js";
import type { ItemRecord } from "../store/item.js";
import {
  decodeOptionalItem,
  decodeOutcome,
  encodeOptionalItem,
  encodeOutcome,
} from "../store/outcome-codec.js";
import type { ApplyOutcome } from "../store/state-machine.js";
import type { MaybePromise } from "../store/store.js";
import { MemraftError } from "../util/errors.js";
import { groupName } from "./group-ids.js";
import { type GroupMember, noAnswerInTime } from "./group-member.js";
import type { NodeRuntime } from "./node-runtime.js";
import type { Routing } from "./routing.js";

export interface GroupClientOptions {
  readonly runtime: NodeRuntime;
  readonly nodeId: NodeId;
  readonly routing: Routing;
  readonly clock: Clock;
  /** How long a command may wait for a leader, in total. */
  readonly requestTimeoutMs: number;
}

/** Peer request methods (peer-rpc.ts); numbers travel on the wire. */
const proposeMethod = 1;
const readMethod = 2;

/** Pauses between attempts while a group elects a leader or a guess was stale. */
const retryDelayMs = 20;

export class GroupClient {
  private readonly runtime: NodeRuntime;
  /** The latest timestamp this node gave an entry: entries never go back in time. */
  private lastTimestampMs = 0;

  constructor(private readonly options: GroupClientOptions) {
    this.runtime = options.runtime;
    this.runtime.rpc.handle(proposeMethod, (_from, body) => this.serveProposal(body));
    this.runtime.rpc.handle(readMethod, (_from, body) => this.serveRead(body));
  }

  /**
   * Until the deadline: propose on the leader, here or by request. A refusal
   * (not the leader, no leader yet, unreachable) is retried; an unknown fate
   * only if `retryUnknown`.
   */
  propose(
    groupId: GroupId,
    command: StoreCommand,
    retryUnknown: boolean,
    startedAt = Date.now(),
  ): Promise<ApplyOutcome | undefined> {
    const member = this.runtime.members.get(groupId);
    if (!member?.isLeader) {
      return this.untilDeadline(groupId, retryUnknown, startedAt, this.proposer(groupId, command));
    }
    // The usual case on a leader: the member's own promise, which keeps the
    // deadline itself; the retry machinery is set up only when it fails.
    const deadline = startedAt + this.options.requestTimeoutMs;
    return this.proposeHere(member, command, deadline).then(undefined, (error: unknown) => {
      this.noteRefusal(error, groupId);
      if (!retryable(error, retryUnknown) || Date.now() >= deadline) {
        throw clientError(error, groupId);
      }
      return this.untilDeadline(groupId, retryUnknown, startedAt, this.proposer(groupId, command));
    });
  }

  /** One attempt of `command`: proposed here when this node leads, else sent to `target`. */
  private proposer(
    groupId: GroupId,
    command: StoreCommand,
  ): (
    member: GroupMember | undefined,
    target: NodeId,
    deadline: number,
  ) => Promise<ApplyOutcome | undefined> {
    return async (member, target, deadline) => {
      if (member?.isLeader) return this.proposeHere(member, command, deadline);
      const body = Buffer.concat([
        groupBytes(groupId),
        encodeStoreEntry({ timestampMs: 0, command }),
      ]);
      return decodeOutcome(
        await this.runtime.rpc.call(target, proposeMethod, body, deadline - Date.now()),
      );
    };
  }

  /**
   * The live item under `key` in the group, read linearizably. When this
   * node leads, needs no confirmation round and holds the item in memory,
   * the answer is a value, not a promise: most reads on a single node.
   */
  read(groupId: GroupId, key: string, startedAt?: number): MaybePromise<ItemRecord | undefined> {
    const member = this.runtime.members.get(groupId);
    if (member?.readableNow()) return member.read(key, this.options.clock.nowSeconds());
    // A read changes nothing: retrying it is always safe.
    return this.untilDeadline(
      groupId,
      true,
      startedAt ?? Date.now(),
      async (member, target, deadline) => {
        if (member?.isLeader) return this.readHere(member, key, deadline);
        const body = Buffer.concat([groupBytes(groupId), Buffer.from(key, "latin1")]);
        return decodeOptionalItem(
          await this.runtime.rpc.call(target, readMethod, body, deadline - Date.now()),
        );
      },
    );
  }

  /** This node's own applied state of the group (stale reads), if it hosts the group. */
  readLocal(
    groupId: GroupId,
    key: string,
    startedAt?: number,
  ): MaybePromise<ItemRecord | undefined> {
    const member = this.runtime.members.get(groupId);
    if (member === undefined) return this.read(groupId, key, startedAt);
    return member.read(key, this.options.clock.nowSeconds());
  }

  /**
   * Calls `attempt` with this node's member of the group (if any) and the
   * node to ask when it does not lead, until one attempt settles or the
   * request timeout, counted from `startedAt`, passes.
   */
  private async untilDeadline<T>(
    groupId: GroupId,
    retryUnknown: boolean,
    startedAt: number,
    attempt: (member: GroupMember | undefined, target: NodeId, deadline: number) => Promise<T>,
  ): Promise<T> {
    const { routing, nodeId } = this.options;
    const deadline = startedAt + this.options.requestTimeoutMs;
    for (let tries = 0; ; tries++) {
      const member = this.runtime.members.get(groupId);
      const known = member !== undefined && member.leaderId !== 0 ? member.leaderId : undefined;
      const target = known ?? routing.target(groupId, tries, nodeId);
      if (member?.isLeader || (target !== undefined && target !== nodeId)) {
        try {
          const result = await attempt(member, target ?? nodeId, deadline);
          if (!member?.isLeader && target !== undefined) routing.noteLeader(groupId, target);
          return result;
        } catch (error) {
          this.noteRefusal(error, groupId);
          if (!retryable(error, retryUnknown) || Date.now() >= deadline)
            throw clientError(error, groupId);
        }
      }
      if (Date.now() >= deadline) throw noLeader(groupId);
      await delay(retryDelayMs);
    }
  }

  /** A refusal that names the leader (or says there is none) updates the routing guess. */
  private noteRefusal(error: unknown, groupId: GroupId): void {
    if (!MemraftError.is(error, "ERR_NOT_LEADER")) return;
    const named = error.context.leader;
    this.options.routing.noteLeader(groupId, typeof named === "number" ? named : 0);
  }

  /** `deadline`: when the member stops waiting for the entry's outcome (ERR_TIMEOUT). */
  private proposeHere(
    member: GroupMember,
    command: StoreCommand,
    deadline?: number,
  ): Promise<ApplyOutcome | undefined> {
    const timestampMs = Math.max(
      this.options.clock.nowSeconds() * 1000,
      Date.now(),
      this.lastTimestampMs,
    );
    this.lastTimestampMs = timestampMs;
    const proposed = member.propose(encodeStoreEntry({ timestampMs, command }), deadline);
    this.runtime.schedule();
    return proposed;
  }

  /** A read on this leader; only the wait for its leadership to be confirmed counts against `deadline`. */
  private async readHere(
    member: GroupMember,
    key: string,
    deadline?: number,
  ): Promise<ItemRecord | undefined> {
    const barrier = member.readBarrier();
    if (barrier !== undefined) {
      this.runtime.schedule();
      await (deadline === undefined ? barrier : beforeDeadline(barrier, deadline, member.groupId));
    }
    return member.read(key, this.options.clock.nowSeconds());
  }

  /** A peer forwarded a command: propose it here, stamped with this leader's clock. */
  private async serveProposal(body: Buffer): Promise<Buffer> {
    const groupId = body.readUInt32LE(0);
    const { command } = decodeStoreEntry(body.subarray(4), "forwarded command");
    return encodeOutcome(await this.proposeHere(this.leadingMember(groupId), command));
  }

  private async serveRead(body: Buffer): Promise<Buffer> {
    const groupId = body.readUInt32LE(0);
    const key = body.toString("latin1", 4);
    return encodeOptionalItem(await this.readHere(this.leadingMember(groupId), key));
  }

  /** This node's member of the group if it leads; otherwise ERR_NOT_LEADER naming whom it believes leads. */
  private leadingMember(groupId: GroupId): GroupMember {
    const member = this.runtime.members.get(groupId);
    if (member?.isLeader) return member;
    const leader = member?.leaderId || this.options.routing.leaderOf(groupId) || 0;
    throw new MemraftError(
      "ERR_NOT_LEADER",
      member === undefined
        ? `node ${this.options.nodeId} has no replica of group ${groupName(groupId)}`
        : `node ${this.options.nodeId} does not lead group ${groupName(groupId)}`,
      { groupId, leader },
    );
  }
}

function groupBytes(groupId: GroupId): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(groupId);
  return bytes;
}

/** ERR_NOT_LEADER and ERR_UNAVAILABLE mean nothing was applied; a timeout leaves the fate unknown. */
function retryable(error: unknown, retryUnknown: boolean): boolean {
  if (MemraftError.is(error, "ERR_NOT_LEADER") || MemraftError.is(error, "ERR_UNAVAILABLE"))
    return true;
  if (MemraftError.is(error, "ERR_QUEUE_FULL")) return true;
  return retryUnknown && MemraftError.is(error, "ERR_TIMEOUT");
}

function noLeader(groupId: GroupId): MemraftError {
  return new MemraftError(
    "ERR_UNAVAILABLE",
    `group ${groupName(groupId)} has no leader that answers`,
    { groupId },
  );
}

function clientError(error: unknown, groupId: GroupId): Error {
  if (MemraftError.is(error, "ERR_TIMEOUT")) {
    return new MemraftError(
      "ERR_TIMEOUT",
      `group ${groupName(groupId)}: the leader took the command but did not answer; it may or may not have been applied`,
      { groupId },
    );
  }
  return error as Error;
}

/** Rejects with ERR_TIMEOUT (fate unknown) if `promise` has not settled by `deadline`. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number, groupId: GroupId): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(noAnswerInTime(groupId)),
      Math.max(0, deadline - Date.now()),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
