// An idle cluster goes quiet: every data group's leader stops heartbeating
// (the metadata group stays awake: the cluster's control loop reads it
// several times a second). Then kill -9 of a node that leads data groups:
// nothing but the transport's failure detector can wake their quiet
// followers, and they must elect new leaders and serve every key written
// before, within a few election timeouts.

import test from "ava";
import type { ClusterStatus } from "../../src/cluster/cluster-status.js";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import { KvClient, type KvReply } from "../helpers/kv-client.js";
import { waitFor } from "../helpers/wait.js";
import { statusOf } from "./rebalance-helpers.js";
import { probeWrites } from "./write-probe.js";

const cluster = useProcessCluster({ nodeCount: 3, groups: 4 });
const keys = Array.from({ length: 40 }, (_, i) => `quiet:${i}`);

function dataGroups(status: ClusterStatus): ClusterStatus["groups"] {
  return status.groups.filter((group) => group.id !== "meta");
}

function value(reply: KvReply): string | undefined {
  return reply.kind === "value" ? reply.value : undefined;
}

test.serial(
  "an idle cluster goes quiet; after kill -9 of a leading node its groups wake, elect and serve",
  async (t) => {
    t.timeout(120_000);
    const nodes = cluster().nodes;
    const writer = new KvClient(nodes[0]!, 10_000);
    try {
      t.true(await writer.connect());
      for (const key of keys)
        t.deepEqual(await writer.set(key, key), { kind: "line", line: "STORED" });
    } finally {
      writer.close();
    }
    // The status answers only once the cluster recorded its configuration.
    let status: ClusterStatus | undefined;
    let lastError = "";
    try {
      await waitFor(
        "every data group led and quiet",
        async () => {
          try {
            status = await statusOf(nodes[0]!);
          } catch (error) {
            lastError = (error as Error).message;
            return false;
          }
          return dataGroups(status).every((g) => g.leader !== null && g.quiet);
        },
        30_000,
        100,
      );
    } catch (error) {
      const groups = status?.groups.map((g) => `${g.id}: leader ${g.leader}, quiet ${g.quiet}`);
      throw new Error(`${(error as Error).message}; last seen: ${groups?.join("; ") ?? lastError}`);
    }
    const victim = nodes.find((node) => node.id === dataGroups(status!)[0]!.leader)!;
    const led = dataGroups(status!)
      .filter((g) => g.leader === victim.id)
      .map((g) => g.id);
    t.log(`idle: every data group quiet; killing ${victim.id}, leader of groups ${led}`);

    const faultMs = Date.now();
    await cluster().kill(victim.id);
    const survivors = nodes.filter((node) => node.id !== victim.id);
    const probe = await probeWrites(survivors, faultMs, {
      timeoutMs: 30_000,
      replyTimeoutMs: 10_000,
    });
    const reader = new KvClient(survivors[0]!, 10_000);
    try {
      await waitFor(
        "every key written before the kill read back through a survivor",
        async () => {
          if (!(await reader.connect())) return false;
          for (const key of keys) if (value(await reader.get(key)) !== key) return false;
          return true;
        },
        30_000,
        100,
      );
    } finally {
      reader.close();
    }
    const servedMs = Date.now() - faultMs;
    const after = await statusOf(survivors[0]!);
    for (const id of led) {
      const group = after.groups.find((g) => g.id === id)!;
      t.not(group.leader, victim.id, `group ${id} has a new leader`);
      t.not(group.leader, null);
    }
    t.log(
      `first write after the kill: ${probe.unavailableMs} ms; every key served: ${servedMs} ms`,
    );
  },
);
