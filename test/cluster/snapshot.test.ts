// A follower that was away while the leader truncated its log catches up by
// snapshot: it fetches the leader's LSM checkpoint, installs it, and then
// follows the log again.

import test from "ava";
import { startInProcessCluster } from "../helpers/memraft-node.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

const limits = { compactEntriesMin: 200, logTailEntries: 50, idleFlushMs: 200 };

test("a follower behind the truncated log catches up from a snapshot", async (t) => {
  t.timeout(60_000);
  const cluster = await startInProcessCluster(3, { limits, memtableBytes: 16 * 1024 });
  t.teardown(() => cluster.stopAll());
  const leaderIndex = async () => {
    let found = -1;
    await waitFor(
      "a leader",
      () => {
        found = cluster.nodes.findIndex((node) => node?.runtime.members.get(0)?.isLeader === true);
        return found !== -1;
      },
      10_000,
    );
    return found;
  };
  const leader = await leaderIndex();
  const away = (leader + 1) % 3;
  await cluster.stop(away);
  const client = await RawClient.connect(cluster.client(leader).port, cluster.client(leader).host);
  for (let i = 0; i < 1500; i++) {
    t.is(await client.request(`set key${i} 0 0 ${String(i).length}\r\n${i}\r\n`), "STORED\r\n");
  }
  const leaderNode = cluster.nodes[leader]!;
  await waitFor(
    "the leader's log to be truncated",
    () => leaderNode.runtime.member(0).raw.status().firstIndex > 100,
    10_000,
  );
  await cluster.restart(away);
  const follower = cluster.nodes[away]!;
  await waitFor(
    "the follower to catch up",
    () => follower.runtime.member(0).appliedIndex >= leaderNode.runtime.member(0).appliedIndex,
    20_000,
  );
  t.is(follower.runtime.snapshotsInstalled, 1);
  for (const i of [0, 777, 1499]) {
    const item = await follower.runtime.member(0).read(`key${i}`, Math.floor(Date.now() / 1000));
    t.is(item?.value.toString(), String(i));
  }
  const check = await RawClient.connect(cluster.client(away).port, cluster.client(away).host);
  t.is(await check.request("get key1234\r\n", "END\r\n"), "VALUE key1234 0 4\r\n1234\r\nEND\r\n");
  check.close();
  client.close();
});
