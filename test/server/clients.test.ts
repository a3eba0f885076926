// Real memcached clients against memraft's server on its in-memory engine,
// each checked against the same client talking to a real memcached 1.6.

import { startMemraft } from "../helpers/memraft-server.js";
import { registerClientChecks } from "./client-checks.js";

registerClientChecks("in memory", 1, async () => {
  const memraft = await startMemraft();
  return { entryPoints: [{ host: "127.0.0.1", port: memraft.port }], stop: () => memraft.stop() };
});
