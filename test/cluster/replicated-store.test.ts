// The replicated store's own part of a request, apart from Raft: a node
// still learning the slot map makes the request wait, and that wait counts
// against the request's one timeout.

import test from "ava";
import type { GroupClient } from "../../src/cluster/group-client.js";
import type { NodeRuntime } from "../../src/cluster/node-runtime.js";
import { ReplicatedStore } from "../../src/cluster/replicated-store.js";
import type { ApplyOutcome } from "../../src/store/state-machine.js";

test("a wait for the slot map counts against the request timeout, not before it", async (t) => {
  const startedAts: number[] = [];
  const groups = {
    propose: async (_groupId: number, _command: unknown, _retry: boolean, startedAt: number) => {
      startedAts.push(startedAt);
      return { kind: "store", result: { status: "stored", cas: 9n } } satisfies ApplyOutcome;
    },
    read: async (_groupId: number, _key: string, startedAt: number) => {
      startedAts.push(startedAt);
      return undefined;
    },
  };
  const learnedAfterMs = 200;
  const store = new ReplicatedStore({
    runtime: {} as NodeRuntime,
    groups: groups as unknown as GroupClient,
    groupOf: () => new Promise((resolve) => setTimeout(() => resolve(3), learnedAfterMs)),
    dataGroupIds: () => [3],
    clock: { nowSeconds: () => Math.floor(Date.now() / 1000) },
    readMode: "linearizable",
    memoryLimitBytes: 1 << 20,
  });
  const arrived = Date.now();
  t.deepEqual(
    await store.store({
      mode: "set",
      key: "k",
      value: Buffer.from("v"),
      flags: 0,
      exptime: 0,
      cas: 0n,
    }),
    { status: "stored", cas: 9n },
  );
  t.is(await store.get("k"), undefined);
  t.is(startedAts.length, 2);
  t.true(
    startedAts[0]! - arrived < learnedAfterMs,
    "the set's timeout starts when it arrived, not when the map was learned",
  );
  t.true(startedAts[1]! - arrived < 2 * learnedAfterMs);
});
