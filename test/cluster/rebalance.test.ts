// Growing and shrinking a cluster of separate processes under load from a
// real client library (node `memcached`), the way an operator would: add a
// 4th node to the cluster file, start it, `cluster apply`; then mark a node
// draining, apply, wait, delete it from the file, apply, stop it.
//
// Checked: every acknowledged write survives (bulk keys written before,
// the workload's append-only keys), the workload's history (final reads
// included) is linearizable per key, each node ends with its share of the
// replicas, the drained node ends with none, and clients saw errors (unknown
// outcomes) only while a rebalance was running; that window is reported.
// npm test: 8 groups, short phases; MEMRAFT_LONG=1: 16 groups, more data,
// longer. SEED=<n> replays the workload's choices.

import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import test from "ava";
import { applyFile } from "../../src/cli/admin-client.js";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import { LibraryKvClient } from "../helpers/library-kv-client.js";
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
const phaseMs = long ? 10_000 : 2_000;
const bulkKeys = long ? 20_000 : 1_000;
const bulkValueBytes = 1000;
const rebalanceTimeoutMs = long ? 10 * 60_000 : 90_000;
/** After a rebalance finishes, errors may still surface this long (a command in flight then). */
const settleMs = 6_000;

const cluster = useProcessCluster({ nodeCount: 3, groups, replicationFactor: 3 });

test.serial(
  "a node added and a node removed under load: no write lost, linearizable, replicas evenly spread",
  async (t) => {
    t.timeout(long ? 30 * 60_000 : 240_000);
    const [n1, n2, n3] = cluster().nodes;
    t.log(`SEED=${seed} groups=${groups} bulk=${bulkKeys}x${bulkValueBytes}B`);
    await writeBulk(n2!, "bulk:", bulkKeys, bulkValueBytes);
    const workload = new KvWorkload({
      seed,
      registerKeys: long ? 12 : 4,
      logKeys: long ? 12 : 4,
      operationsPerClientMax: long ? 200_000 : 20_000,
      replyTimeoutMs: 10_000,
      connectionOf: (endpoint, replyTimeoutMs) => new LibraryKvClient(endpoint, replyTimeoutMs),
    });
    await workload.setup(n1!);
    workload.start(
      [n1!, n2!, n3!]
        .flatMap((node) => [node, node])
        .map((node) => ({ nodeId: node.id, endpoint: node })),
    );
    const windows: { what: string; fromMs: number; toMs: number }[] = [];
    try {
      await delay(phaseMs);

      const n4 = await cluster().addNode();
      await cluster().startNode(n4.id);
      const growFrom = Date.now();
      t.is(await applyConfig(cluster(), n1!), 2);
      const grown = await rebalanced(cluster(), 2, 3, rebalanceTimeoutMs);
      windows.push({ what: "grow", fromMs: growFrom, toMs: Date.now() });
      t.log(`grow: ${grown.rebalance!.done} moves in ${Date.now() - growFrom} ms`);
      assertBalanced(t, grown, ["n1", "n2", "n3", "n4"]);
      t.deepEqual(await missingBulk(n4, "bulk:", bulkKeys, bulkValueBytes), []);
      workload.start([{ nodeId: n4.id, endpoint: n4 }]);
      await delay(phaseMs);

      // Deleting a node that still holds replicas is refused, with the way to do it.
      cluster().deleteNode("n1");
      const refused = await applyFile(n2!, Buffer.from(cluster().configText()));
      t.regex(
        "problems" in refused ? refused.problems : "committed",
        /^node n1 still holds replicas of group\(s\) .*: mark it "draining: true", apply/,
      );
      cluster().restoreNode("n1");

      // Draining through SIGHUP to one node, as an operator may.
      cluster().setDraining("n1");
      const drainFrom = Date.now();
      cluster().hangUp("n2");
      const drained = await rebalanced(cluster(), 3, 3, rebalanceTimeoutMs);
      windows.push({ what: "drain", fromMs: drainFrom, toMs: Date.now() });
      t.log(`drain: ${drained.rebalance!.done} moves in ${Date.now() - drainFrom} ms`);
      t.is(drained.nodes.find((node) => node.id === "n1")?.replicas, 0);
      assertBalanced(t, drained, ["n2", "n3", "n4"]);

      // The operator moves n1's clients away, deletes it from the file, and stops it.
      workload.retire("n1");
      cluster().deleteNode("n1");
      t.is(await applyConfig(cluster(), n2!), 4);
      await cluster().terminate("n1");
      const after = await statusOf(n3!);
      t.deepEqual(
        after.nodes.map((node) => node.id),
        ["n2", "n3", "n4"],
      );
      await delay(phaseMs);
    } finally {
      await workload.stop();
    }

    const survivors = cluster().nodes.filter((node) => node.id !== "n1");
    await checkWorkloadEnd(t, workload, survivors);
    t.deepEqual(await missingBulk(survivors[2]!, "bulk:", bulkKeys, bulkValueBytes), []);

    const outside = workload.unknownTimes.filter(
      (time) => !windows.some((window) => time >= window.fromMs && time <= window.toMs + settleMs),
    );
    const during = workload.unknownTimes.length - outside.length;
    const first = Math.min(...workload.unknownTimes);
    const last = Math.max(...workload.unknownTimes);
    t.log(
      `client errors: ${during} during rebalances${during > 0 ? ` (from ${first - windows[0]!.fromMs} ms after the first apply to ${last - windows[0]!.fromMs} ms)` : ""}, ${outside.length} outside; reasons ${JSON.stringify(Object.fromEntries(workload.unknownReasons))}`,
    );
    t.deepEqual(outside, [], "clients saw errors outside the rebalance windows");
  },
);
