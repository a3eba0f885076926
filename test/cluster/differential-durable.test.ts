// The differential suite against a durable node: memcached's semantics hold
// when every write goes through the Raft log and the LSM.

import { startDurableNode } from "../helpers/memraft-node.js";
import { registerDifferentialSuite } from "../server/differential/suite.js";

registerDifferentialSuite("durable node", () => startDurableNode());
