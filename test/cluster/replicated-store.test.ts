// The replicated store's own part of a request, apart from Raft: a node
// still learning the slot map makes the request wait, and that wait counts
// against the request's one timeout; a read the group answers at once
// reaches the server as a value, not a promise.

import test from "ava";
import type { GroupClient } from "../../src/cluster/group-client.js";
import type { NodeRuntime } from "../../src/cluster/node-runtime.js";
import { ReplicatedStore } from "../../src/cluster/replicated-store.js";
import type { ItemRecord } from "../../src/store/item.js";
import type { ApplyOutcome } from "../../src/store/state-machine.js";

/** A store over stand-in groups (only what a test's requests call) with group 3 as its one data group. */
function storeOver(groups: object, groupOf: () => number | Promise<number>): ReplicatedStore {
  return new ReplicatedStore({
    runtime: {} as NodeRuntime,
    groups: groups as GroupClient,
    groupOf,
    dataGroupIds: () => [3],
    clock: { nowSeconds: () => Math.floor(Date.now() / 1000) },
    readMode: "linearizable",
    memoryLimitBytes: 1 << 20,
  });
}

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
  const store = storeOver(
    groups,
    () => new Promise((resolve) => setTimeout(() => resolve(3), learnedAfterMs)),
  );
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

test("a get the group answers at once is answered at once, and one it answers later resolves to the same", async (t) => {
  const item: ItemRecord = {
    value: Buffer.from("v"),
    flags: 1,
    exptime: 0,
    cas: 4n,
    writeTime: 0,
    stale: false,
    tokenSent: false,
    keyBinary: false,
  };
  let later = false;
  const groups = {
    read: (_groupId: number, _key: string) => (later ? Promise.resolve(item) : item),
  };
  const store = storeOver(groups, () => 3);
  const now = store.get("k");
  t.false(now instanceof Promise, "no promise, so no microtask, on the hot read path");
  t.is(now, item);
  later = true;
  const eventually = store.get("k");
  t.true(eventually instanceof Promise);
  t.is(await eventually, item);
  // Both reads count for mg's h flag: the item was fetched before.
  const meta = await store.metaGet({
    key: "k",
    effectOrder: "",
    noBump: true,
  } as unknown as Parameters<ReplicatedStore["metaGet"]>[0]);
  t.true(meta.fetchedBefore);
});
