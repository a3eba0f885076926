// Lease reads (`--read-mode lease`) on a 3-node cluster: the leader serves
// reads from its own state, at once, while its lease holds. Clients on
// every node run the kv workload; midway the leader is stopped, a new one
// is elected and takes over the reads. Every node must end with the same
// values and the whole history must be linearizable: a read served under a
// lease that was no longer valid would show up as a stale read.
// SEED=<n> replays the workload's choices.

import { randomInt } from "node:crypto";
import test from "ava";
import { startInProcessCluster, waitForLeader } from "../helpers/memraft-node.js";
import { waitFor } from "../helpers/wait.js";
import { KvWorkload } from "./kv-workload.js";
import { checkWorkloadEnd } from "./workload-checks.js";

const seed = process.env.SEED === undefined ? randomInt(2 ** 31) : Number(process.env.SEED);

test("lease reads across a leader change: the history of clients on every node is linearizable", async (t) => {
  t.timeout(90_000);
  t.log(`SEED=${seed}`);
  const cluster = await startInProcessCluster(3, { readMode: "lease" });
  t.teardown(() => cluster.stopAll());
  const leader = await waitForLeader(cluster);
  const endpoints = [0, 1, 2].map((index) => ({ id: `n${index + 1}`, ...cluster.client(index) }));
  const workload = new KvWorkload({
    seed,
    registerKeys: 4,
    logKeys: 2,
    operationsPerClientMax: 5_000,
    replyTimeoutMs: 10_000,
  });
  await workload.setup(endpoints[leader]!);
  workload.start(
    endpoints.flatMap((endpoint) => [
      { nodeId: endpoint.id, endpoint },
      { nodeId: endpoint.id, endpoint },
    ]),
  );
  const stopped = endpoints[leader]!.id;
  try {
    await waitFor("the workload under way", () => workload.operations >= 1_000, 20_000);
    workload.retire(stopped);
    await cluster.stop(leader);
    const stoppedMs = Date.now();
    await waitFor(
      "a write acknowledged by the new leader",
      () => workload.firstAcknowledgedSince(stoppedMs) !== undefined,
      30_000,
      20,
    );
    const before = workload.operations;
    await waitFor(
      "reads and writes under the new leader",
      () => workload.operations >= before + 1_000,
      20_000,
    );
  } finally {
    await workload.stop();
  }
  const survivors = endpoints.filter((endpoint) => endpoint.id !== stopped);
  await checkWorkloadEnd(t, workload, survivors);
});
