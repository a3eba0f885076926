// Replicas at the same applied index hold the same state: the leader
// compares state hashes with its followers, and a replica whose data was
// changed behind Raft's back is caught once an entry reads it.

import test from "ava";
import { encodeItem } from "../../src/store/item-codec.js";
import { startInProcessCluster } from "../helpers/memraft-node.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

test("followers' state hashes match the leader's, and a tampered replica is caught", async (t) => {
  t.timeout(60_000);
  const cluster = await startInProcessCluster(3);
  t.teardown(() => cluster.stopAll());
  let leader = -1;
  await waitFor(
    "a leader",
    () => {
      leader = cluster.nodes.findIndex((node) => node?.runtime.members.get(0)?.isLeader === true);
      return leader !== -1;
    },
    10_000,
  );
  const client = await RawClient.connect(cluster.client(leader).port, cluster.client(leader).host);
  for (let i = 0; i < 50; i++)
    t.is(await client.request(`set k${i} 0 0 1\r\n${i % 10}\r\n`), "STORED\r\n");
  const leaderRuntime = cluster.nodes[leader]!.runtime;
  const applied = leaderRuntime.member(0).appliedIndex;
  await waitFor("followers to apply everything", () =>
    cluster.nodes.every((node) => node!.runtime.member(0).appliedIndex >= applied),
  );
  await leaderRuntime.checkStateHashes();
  // Group 0 and, when this node leads it too, the metadata group.
  t.true(leaderRuntime.stateHashChecks >= 2);
  t.is(leaderRuntime.stateHashMismatches, 0);

  const tampered = cluster.nodes[(leader + 1) % 3]!.runtime.member(0);
  const record = (await tampered.read("k7", Math.floor(Date.now() / 1000)))!;
  await tampered.engine.put("k7", encodeItem({ ...record, value: Buffer.from("X") }));
  t.is(await client.request("append k7 0 0 1\r\n!\r\n"), "STORED\r\n");
  const afterAppend = leaderRuntime.member(0).appliedIndex;
  await waitFor("followers to apply the append", () =>
    cluster.nodes.every((node) => node!.runtime.member(0).appliedIndex >= afterAppend),
  );
  await leaderRuntime.checkStateHashes();
  t.is(leaderRuntime.stateHashMismatches, 1);
  client.close();
});
