// Ticking the groups of one node when idle ones go quiet (Raft.quiesced):
// a quiet member is skipped, so an idle group costs a flag check per tick;
// a quiet follower whose leader's node seems down is woken and ticked, as
// a quiet follower never times out by itself.

import type { RawNode } from "./raw-node.js";
import type { NodeId } from "./types.js";

/** The node-level failure detector (TcpTransport is one). */
export interface PeerSuspicion {
  /** Whether nothing came from `peer` for `silenceMs`, or it is not connected. */
  suspects(peer: NodeId, silenceMs: number): boolean;
}

/**
 * Ticks every member that is awake, after waking the ones that must be;
 * returns how many ticked. A leader seems down when `transport` (the
 * node-level failure detector) has not heard from its node for an election
 * timeout; with no transport (a node on its own) there is no quiet follower.
 */
export function tickMembers(
  members: Iterable<{ readonly raw: RawNode }>,
  transport: PeerSuspicion | undefined,
  electionTimeoutMs: number,
): number {
  let ticked = 0;
  // Asked once per leader per tick: many quiet groups share a few leaders.
  let verdicts: Map<NodeId, boolean> | undefined;
  for (const { raw } of members) {
    if (raw.quiesced) {
      const raft = raw.raft;
      if (raft.role === "leader") continue;
      verdicts ??= new Map();
      let down = verdicts.get(raft.lead);
      if (down === undefined) {
        down = transport === undefined || transport.suspects(raft.lead, electionTimeoutMs);
        verdicts.set(raft.lead, down);
      }
      if (!down) continue;
      raw.wake();
    }
    raw.tick();
    ticked++;
  }
  return ticked;
}
