// An ava fixture around the process-cluster harness (kept apart so that the
// harness itself runs outside ava, e.g. in benchmarks and scratch scripts).

import test from "ava";
import { ProcessCluster, type ProcessClusterOptions } from "./process-cluster.js";

/**
 * A cluster for the tests of one file: started before them, stopped after
 * them (failed or not), its nodes' last output logged with a failed test,
 * whose data and full logs are kept (MEMRAFT_KEEP_CLUSTER=1: kept always).
 */
export function useProcessCluster(options: ProcessClusterOptions = {}): () => ProcessCluster {
  let cluster: ProcessCluster | undefined;
  let failed = false;
  test.before(async () => {
    cluster = await ProcessCluster.start(options);
  });
  test.after.always(async () => {
    const keep = failed || process.env.MEMRAFT_KEEP_CLUSTER === "1";
    const kept = await cluster?.stop({ keepFiles: keep });
    if (kept !== undefined) console.error(`memraft cluster data and node logs kept in ${kept}`);
  });
  test.afterEach.always((t) => {
    if (t.passed || cluster === undefined) return;
    failed = true;
    t.log(`node output (last lines; every line in <data>/<id>.log):\n${cluster.describe()}`);
  });
  return () => {
    if (cluster === undefined) throw new Error("the cluster is not started");
    return cluster;
  };
}
