// How a node with an empty data directory finds its place, and how it
// remembers it (<data-dir>/meta/identity).
//
// A blank node asks every other node in its file who they are (hello):
//   - a node that already belongs to the cluster answers as a member: if
//     the cluster was created from this very file with this node in it (a
//     founding node that starts late), this node creates its replicas of
//     the founding placement; otherwise it joins, empty, and waits for the
//     rebalancer to give it replicas;
//   - when every other node answers blank with the same file, the cluster
//     is being created: each founding node creates its replicas of the
//     placement that file gives (the same on all of them);
//   - otherwise (silence, or a different file) it waits and says why.
//
// A node that lost its data directory must come back under a new id: as a
// blank node with an old id it would start over in groups that count it as
// a voter with everything it promised forgotten.

import { setTimeout as delay } from "node:timers/promises";
import { makeDirectoryDurably, writeFileDurably } from "../fs/durable-file.js";
import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { NodeId } from "../raft/types.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { decodeCheckedJson, encodeCheckedJson, type RecordKind } from "./checked-json.js";
import { AdminMethod, callJson } from "./group-admin.js";
import type { PeerRpc } from "./peer-rpc.js";

export interface Identity {
  readonly clusterName: string;
  readonly nodeId: string;
  /** "founding": created with the cluster; "joined": added later, empty. */
  readonly origin: "founding" | "joined";
  /** Founding nodes: the digest of the file the cluster was created from, and its node ids. */
  readonly foundingDigest?: string;
  readonly foundingNodes?: readonly string[];
  /** Set once every founding replica of this node exists. */
  readonly settled: boolean;
}

export interface HelloReply {
  readonly clusterName: string;
  readonly state: "blank" | "founding" | "joined";
  /** The digest of the replier's file. */
  readonly fileDigest: string;
  readonly foundingDigest?: string;
  /** The replier's founding file's node ids, when it is a founding node. */
  readonly foundingNodes?: readonly string[];
}

const identityKind: RecordKind = { magic: 0x4d524944, version: 1, name: "node identity" };

function identityPath(dataDir: string): string {
  return joinPath(joinPath(dataDir, "meta"), "identity");
}

export async function readIdentity(fs: FileSystem, dataDir: string): Promise<Identity | undefined> {
  const path = identityPath(dataDir);
  if (!(await fs.exists(path))) return undefined;
  const value = decodeCheckedJson(identityKind, await fs.readFile(path), path) as Identity;
  if (typeof value?.nodeId !== "string" || typeof value.clusterName !== "string") {
    throw new MemraftError("ERR_CORRUPTION", `${path}: identity record is malformed`, {
      file: path,
      offset: 0,
    });
  }
  return value;
}

export async function writeIdentity(
  fs: FileSystem,
  dataDir: string,
  identity: Identity,
): Promise<void> {
  await makeDirectoryDurably(fs, joinPath(dataDir, "meta"));
  await writeFileDurably(fs, identityPath(dataDir), encodeCheckedJson(identityKind, identity));
}

export type StartDecision = "found" | "join";

export interface DecideOptions {
  readonly rpc: PeerRpc;
  readonly clusterName: string;
  readonly selfId: string;
  readonly fileDigest: string;
  /** The other nodes of the file: id and Raft id. */
  readonly others: readonly { readonly id: string; readonly raftId: NodeId }[];
  readonly logger: Logger;
  /** Settles the question early: a member asked this node to host a replica. */
  readonly invited: () => boolean;
  readonly stopped: () => boolean;
}

/** Asks the other nodes until it is clear whether this blank node founds the cluster or joins it. */
export async function decideStart(options: DecideOptions): Promise<StartDecision> {
  const { logger } = options;
  let lastReport = 0;
  for (;;) {
    if (options.invited()) return "join";
    if (options.stopped()) {
      throw new MemraftError("ERR_CLOSED", "node stopped before it found its cluster");
    }
    const replies = await Promise.all(
      options.others.map(async (other) => {
        try {
          return await callJson<HelloReply>(options.rpc, other.raftId, AdminMethod.hello, {}, 1000);
        } catch (error) {
          logger.debug({ peer: other.id, err: error }, "hello: no answer");
          return undefined;
        }
      }),
    );
    const waitingFor: string[] = [];
    let allBlankAlike = true;
    for (const [index, reply] of replies.entries()) {
      const other = options.others[index]!;
      if (reply === undefined) {
        waitingFor.push(`${other.id} (no answer)`);
        allBlankAlike = false;
        continue;
      }
      if (reply.clusterName !== options.clusterName) {
        waitingFor.push(`${other.id} (belongs to cluster "${reply.clusterName}")`);
        allBlankAlike = false;
        continue;
      }
      if (reply.state !== "blank") {
        const founder =
          reply.foundingDigest === options.fileDigest &&
          reply.foundingNodes?.includes(options.selfId) === true;
        return founder ? "found" : "join";
      }
      if (reply.fileDigest !== options.fileDigest) {
        waitingFor.push(`${other.id} (its cluster file differs from this one)`);
        allBlankAlike = false;
      }
    }
    if (allBlankAlike) return "found";
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      logger.warn(
        { waitingFor },
        "blank node: waiting for the other nodes to tell whether to create the cluster or join it",
      );
    }
    await delay(200);
  }
}
