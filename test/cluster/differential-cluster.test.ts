// The differential suite against a 3-node cluster of separate processes:
// memcached's semantics hold when every write is replicated through Raft,
// whichever node a client talks to (script i goes to node i mod 3). No
// script is left out: even mg's h and l flags, whose access bookkeeping
// each node keeps for the reads it serves, agree, since a script (like a
// memcached client's connection) stays on one node.

import { ProcessCluster } from "../helpers/process-cluster.js";
import { registerDifferentialSuite } from "../server/differential/suite.js";

registerDifferentialSuite("3-node cluster", async () => {
  const cluster = await ProcessCluster.start({ nodeCount: 3 });
  return {
    port: cluster.nodes[0]!.port,
    entryPoints: cluster.nodes,
    stop: async () => void (await cluster.stop()),
  };
});
