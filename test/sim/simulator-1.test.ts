import { registerSimulationShard } from "./suite.js";

registerSimulationShard(0);
