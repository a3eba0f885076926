// A follower that needs snapshots for two groups, one of which cannot be
// fetched for a while (writing its files into the staging directory is held
// back, then fails): the other group catches up and follows new writes all the
// same, the node keeps serving, and the failed fetch is tried again until it
// succeeds. Snapshot files travel beside the node's Raft processing, not
// inside it.

import test, { type ExecutionContext } from "ava";
import type { FileSystem } from "../../src/fs/file-system.js";
import { MemraftError } from "../../src/util/errors.js";
import { type InProcessCluster, startInProcessCluster } from "../helpers/memraft-node.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";

const limits = { compactEntriesMin: 200, logTailEntries: 50, idleFlushMs: 200 };
const keys = 1500;

type Gate = "hold" | "fail" | "open";

/**
 * Creating files in group 0's snapshot staging directory through `fs` (what
 * a snapshot fetch does first for each file) waits while the gate says
 * "hold" and fails while it says "fail" (counted).
 */
class SnapshotGate {
  private state: Gate = "open";
  private wake = () => {};
  private changed = this.nextChange();
  failures = 0;
  /** Files whose creation has waited at the gate. */
  held = 0;

  set(state: Gate): void {
    this.state = state;
    this.wake();
    this.changed = this.nextChange();
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  wrap(fs: FileSystem): FileSystem {
    return new Proxy(fs, {
      get: (target, property, receiver) => {
        if (property === "create") {
          return async (path: string) => {
            if (/\/groups\/0\.staging\//.test(path)) await this.pass(path);
            return target.create(path);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  private async pass(path: string): Promise<void> {
    if (this.state === "hold") this.held++;
    while (this.state === "hold") await this.changed;
    if (this.state === "fail") {
      this.failures++;
      throw new MemraftError("ERR_IO", `test: ${path} cannot be created`);
    }
  }
}

async function setKeys(
  cluster: InProcessCluster,
  entry: number,
  from: number,
  to: number,
  t: ExecutionContext,
): Promise<void> {
  const client = await RawClient.connect(cluster.client(entry).port, cluster.client(entry).host);
  for (let i = from; i < to; i++) {
    t.is(await client.request(`set key${i} 0 0 ${String(i).length}\r\n${i}\r\n`), "STORED\r\n");
  }
  client.close();
}

test("a snapshot that cannot be fetched holds back only its own group, and is fetched again", async (t) => {
  t.timeout(120_000);
  const gate = new SnapshotGate();
  const cluster = await startInProcessCluster(3, {
    groups: 2,
    limits,
    memtableBytes: 16 * 1024,
    wrapFs: (_index, fs) => gate.wrap(fs),
  });
  t.teardown(() => cluster.stopAll());
  const leaderOf = (group: number) =>
    cluster.nodes.findIndex((node) => node?.runtime.members.get(group)?.isLeader === true);
  await waitFor("leaders of both groups", () => leaderOf(0) !== -1 && leaderOf(1) !== -1, 10_000);
  // A node that leads neither group: the one that will be away.
  const away = [0, 1, 2].find((index) => index !== leaderOf(0) && index !== leaderOf(1))!;
  await cluster.stop(away);
  const entry = (away + 1) % 3;
  await setKeys(cluster, entry, 0, keys, t);
  for (const group of [0, 1]) {
    await waitFor(
      `group ${group}'s log to be truncated on its leader`,
      () => cluster.nodes[leaderOf(group)]!.runtime.member(group).raw.status().firstIndex > 100,
      10_000,
    );
  }

  gate.set("hold");
  await cluster.restart(away);
  const follower = cluster.nodes[away]!;
  const caughtUp = (group: number) =>
    follower.runtime.member(group).appliedIndex >=
    cluster.nodes[leaderOf(group)]!.runtime.member(group).appliedIndex;
  await waitFor("group 0's snapshot transfer to start, and wait", () => gate.held > 0, 20_000);
  await waitFor("group 1 to catch up while group 0's snapshot is held", () => caughtUp(1), 20_000);
  // New writes: group 1 follows them while group 0's transfer still waits.
  await setKeys(cluster, entry, keys, keys + 100, t);
  await waitFor("group 1 to apply new writes while group 0's is held", () => caughtUp(1), 20_000);
  t.false(caughtUp(0));

  gate.set("fail");
  await waitFor("group 0's fetch to fail and be tried again", () => gate.failures >= 2, 20_000);
  t.is(follower.runtime.failed, undefined, "the node keeps serving");
  t.false(caughtUp(0));
  t.true(follower.runtime.snapshotsInstalled >= 1, "group 1's snapshot was installed");

  gate.set("open");
  await waitFor("group 0 to catch up once its files can be written", () => caughtUp(0), 20_000);
  // Group 0 may take two: its leader can truncate past the first while the follower waits.
  t.true(follower.runtime.snapshotsInstalled >= 2);
  t.is(follower.runtime.failed, undefined);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < keys + 100; i += 97) {
    const found = [
      await follower.runtime.member(0).read(`key${i}`, now),
      await follower.runtime.member(1).read(`key${i}`, now),
    ].filter((item) => item !== undefined);
    t.deepEqual(
      found.map((item) => item.value.toString()),
      [String(i)],
      `key${i} is in exactly one of the follower's groups`,
    );
  }
});
