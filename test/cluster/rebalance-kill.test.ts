// kill -9 in the middle of a rebalance: a 4th node joins a 3-node cluster
// holding some data, moves one at a time (moves_max 1, so the rebalance
// lasts); once at least one move is done and others remain, the node
// running the rebalancer (the metadata group's leader) is killed, and
// restarted a moment later. The rebalance must resume (under a new
// metadata leader, from the progress recorded in the metadata group) and
// finish: every group with its full set of voters, the new node holding
// its share, every acknowledged write readable, the workload's history
// linearizable. MEMRAFT_LONG=1 kills more: the rebalancer, then the new
// node itself, then a random node, each at a later point of the rebalance.

import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import test from "ava";
import { Prng } from "../../src/raft/prng.js";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import { waitFor } from "../helpers/wait.js";
import { KvWorkload } from "./kv-workload.js";
import {
  applyConfig,
  assertBalanced,
  missingBulk,
  rebalanced,
  statusOf,
  writeBulk,
} from "./rebalance-helpers.js";
import { checkWorkloadEnd } from "./workload-checks.js";

const long = process.env.MEMRAFT_LONG === "1";
const seed = process.env.SEED === undefined ? randomInt(2 ** 31) : Number(process.env.SEED);
const groups = long ? 16 : 8;
const bulkKeys = long ? 10_000 : 1_500;
const bulkValueBytes = 2000;
const rebalanceTimeoutMs = long ? 10 * 60_000 : 120_000;

const cluster = useProcessCluster({ nodeCount: 3, groups, replicationFactor: 3, movesMax: 1 });

type Victim = "rebalancer" | "new node" | "any node";

test.serial("kill -9 during a rebalance: it resumes and completes, nothing is lost", async (t) => {
  t.timeout(long ? 30 * 60_000 : 240_000);
  const random = new Prng(seed);
  const [n1, n2, n3] = cluster().nodes;
  t.log(`SEED=${seed} groups=${groups} bulk=${bulkKeys}x${bulkValueBytes}B`);
  await writeBulk(n1!, "bulk:", bulkKeys, bulkValueBytes);
  const workload = new KvWorkload({
    seed,
    registerKeys: 4,
    logKeys: 4,
    operationsPerClientMax: long ? 100_000 : 20_000,
    replyTimeoutMs: 10_000,
  });
  await workload.setup(n1!);
  // Clients on n2 and n3 only: n1 may be the one killed.
  workload.start([n2!, n3!].map((node) => ({ nodeId: node.id, endpoint: node })));
  const victims: Victim[] = long ? ["rebalancer", "new node", "any node"] : ["rebalancer"];
  try {
    const n4 = await cluster().addNode();
    await cluster().startNode(n4.id);
    t.is(await applyConfig(cluster(), n1!), 2);
    for (const [round, victim] of victims.entries()) {
      const status = await midRebalance(round + 1);
      const id = pickVictim(victim, status, random);
      t.log(
        `round ${round + 1}: ${status.rebalance!.done}/${status.rebalance!.planned} moves done; kill -9 ${id} (${victim})`,
      );
      await cluster().kill(id);
      await delay(1000 + random.int(2000));
      await cluster().startNode(id);
    }
    const done = await rebalanced(cluster(), 2, 3, rebalanceTimeoutMs);
    t.log(`rebalance finished: ${done.rebalance!.done} moves`);
    assertBalanced(t, done, ["n1", "n2", "n3", "n4"]);
    t.deepEqual(await missingBulk(n4, "bulk:", bulkKeys, bulkValueBytes), []);
  } finally {
    await workload.stop();
  }
  await checkWorkloadEnd(t, workload, cluster().nodes);
});

/** Waits until at least `movesDone` moves are done and the rebalance is not finished. */
async function midRebalance(movesDone: number) {
  let found: Awaited<ReturnType<typeof statusOf>> | undefined;
  await waitFor(
    `${movesDone} move(s) of the rebalance done`,
    async () => {
      const running = cluster().nodes.filter((node) => cluster().isRunning(node.id));
      try {
        found = await statusOf(running[0]!);
      } catch {
        return false;
      }
      const rebalance = found.rebalance;
      if (rebalance?.configVersion !== 2) return false;
      if (rebalance.finishedAtMs !== null)
        throw new Error("the rebalance finished before the kill");
      return rebalance.done >= movesDone;
    },
    rebalanceTimeoutMs,
    100,
  );
  return found!;
}

function pickVictim(
  victim: Victim,
  status: Awaited<ReturnType<typeof statusOf>>,
  random: Prng,
): string {
  if (victim === "new node") return "n4";
  if (victim === "rebalancer") {
    const leader = status.groups.find((group) => group.id === "meta")?.leader;
    if (leader === null || leader === undefined)
      throw new Error("the metadata group has no leader");
    return leader;
  }
  return ["n1", "n2", "n3", "n4"][random.int(4)]!;
}
