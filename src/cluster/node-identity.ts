// The Raft core names nodes by positive integers; the cluster file by
// strings ("n1"). The integer is a stable hash of the string, so it does not
// depend on the order of the file, and a node keeps it for life.

import farmhash from "farmhash";
import { ConfigError } from "../util/errors.js";

export function raftNodeId(id: string): number {
  const hashed = farmhash.fingerprint32(Buffer.from(id, "utf8"));
  if (hashed === 0) throw new ConfigError(`node id "${id}" hashes to 0; choose another id`, { id });
  return hashed;
}

/** Raft ids for every node; refuses a file where two ids would collide. */
export function raftNodeIds(ids: readonly string[]): Map<string, number> {
  const byRaftId = new Map<number, string>();
  const result = new Map<string, number>();
  for (const id of ids) {
    const raftId = raftNodeId(id);
    const other = byRaftId.get(raftId);
    if (other !== undefined) {
      throw new ConfigError(`node ids "${other}" and "${id}" collide; rename one`, { id, other });
    }
    byRaftId.set(raftId, id);
    result.set(id, raftId);
  }
  return result;
}
