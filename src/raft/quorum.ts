// Quorum arithmetic over a configuration, simple or joint. A joint
// configuration (Raft thesis §4.3) decides only when a majority of its
// incoming voters AND a majority of its outgoing voters agree, so every
// decision taken while joint holds under the old and the new membership
// alike. An empty half (the outgoing half of a configuration that is not
// joint) agrees with anything: it commits every index and wins every vote.
// Pure; every quorum question the core asks (commit, elections, ReadIndex,
// lease, check-quorum) goes through here.

import type { ConfState, NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/**
 * The highest value a majority of `voters` has reached (values are
 * monotonic marks: match indexes, acknowledged heartbeat sequences, tick
 * counts). Infinity for no voters.
 */
export function majorityValue(voters: readonly NodeId[], markOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const values = voters.map(markOf).sort((a, b) => b - a);
  return values[Math.floor(voters.length / 2)]!;
}

/** Whether a majority of `voters` said yes, or no, or may still go either way. */
export function majorityVote(
  voters: readonly NodeId[],
  voteOf: (id: NodeId) => boolean | undefined,
): VoteResult {
  if (voters.length === 0) return "won";
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = voteOf(id);
    if (vote === true) yes++;
    else if (vote === undefined) missing++;
  }
  const needed = Math.floor(voters.length / 2) + 1;
  if (yes >= needed) return "won";
  return yes + missing >= needed ? "pending" : "lost";
}

/** The highest value a quorum of `conf` (both halves when joint) has reached. */
export function quorumValue(conf: ConfState, markOf: (id: NodeId) => number): number {
  return Math.min(majorityValue(conf.voters, markOf), majorityValue(conf.votersOutgoing, markOf));
}

/** A vote of `conf`: won when both halves won, lost when either lost. */
export function quorumVote(
  conf: ConfState,
  voteOf: (id: NodeId) => boolean | undefined,
): VoteResult {
  const incoming = majorityVote(conf.voters, voteOf);
  const outgoing = majorityVote(conf.votersOutgoing, voteOf);
  if (incoming === "won" && outgoing === "won") return "won";
  if (incoming === "lost" || outgoing === "lost") return "lost";
  return "pending";
}

export function isJoint(conf: ConfState): boolean {
  return conf.votersOutgoing.length > 0;
}

/** Every node that votes in either half, each once, ascending. */
export function allVoters(conf: ConfState): NodeId[] {
  if (!isJoint(conf)) return [...conf.voters];
  return [...new Set([...conf.voters, ...conf.votersOutgoing])].sort((a, b) => a - b);
}
