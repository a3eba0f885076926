// Restart when the log and the data disagree (group-member.ts, start-up
// decision table): a node whose raft log was truncated past the index its
// LSM's files cover (say, the group directory was restored from an older
// backup) cannot replay the entries in between, so it refuses to start, with
// a message naming both indexes; so it does when the log is gone, or ends
// before the data. A refusal changes nothing: with the right files back, the
// node starts and every write is there.

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import type { FileSystem } from "../../src/fs/file-system.js";
import { directoryOf, joinPath } from "../../src/fs/file-system.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { freePort } from "../helpers/memcached-process.js";
import { startDurableNode } from "../helpers/memraft-node.js";
import { exitOf, memraftBin, type NodeProcess, startNodeProcess } from "../helpers/node-process.js";
import { RawClient } from "../helpers/raw-client.js";
import { readValues } from "../helpers/write-load.js";

/** Small enough that a few hundred writes flush, checkpoint and truncate the log. */
const nodeOptions = {
  memtableBytes: 4096,
  limits: { compactEntriesMin: 40, logTailEntries: 10, idleFlushMs: 100, tickMs: 10 },
};
const groupDirectory = "/data/groups/0";
const logDirectory = "/data/raft-log";

/** Sets keys `<prefix><i>` for i in [0, count); returns the values stored. */
async function writeKeys(
  port: number,
  prefix: string,
  count: number,
): Promise<Map<string, string>> {
  const client = await RawClient.connect(port);
  const written = new Map<string, string>();
  try {
    for (let i = 0; i < count; i++) {
      const key = `${prefix}${i}`;
      const value = `${key}=${"v".repeat(i % 50)}`;
      const reply = await client.request(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`);
      if (reply !== "STORED\r\n") throw new Error(`set ${key}: ${reply}`);
      written.set(key, value);
    }
  } finally {
    client.close();
  }
  return written;
}

/** Copies the files of a directory (durably), replacing what `to` held. */
async function copyDirectory(fs: FileSystem, from: string, to: string): Promise<void> {
  if (await fs.exists(to)) {
    for (const name of await fs.list(to)) await fs.remove(joinPath(to, name));
  }
  await fs.mkdir(to);
  for (let directory = directoryOf(to); directory !== "/"; directory = directoryOf(directory))
    await fs.syncDirectory(directory);
  for (const name of await fs.list(from)) {
    const file = await fs.create(joinPath(to, name));
    await file.append(await fs.readFile(joinPath(from, name)));
    await file.sync();
    await file.close();
  }
  await fs.syncDirectory(to);
}

interface History {
  readonly fs: FaultFileSystem;
  readonly written: Map<string, string>;
  /** The group directory and the raft log as they were after the first life. */
  readonly early: { readonly flushed: number };
  /** The index below which the second life truncated the log. */
  readonly truncatedTo: number;
}

/**
 * Two lives of a node: after the first, copies of its group directory and
 * raft log are kept (as a backup would); the second writes until its log is
 * truncated well past what the copied group directory covers.
 */
async function twoLives(t: ExecutionContext): Promise<History> {
  const fs = new FaultFileSystem();
  const first = await startDurableNode({ fs, ...nodeOptions });
  const written = await writeKeys(first.port, "early", 100);
  await first.stop();
  await copyDirectory(fs, groupDirectory, "/backup/groups-0");
  await copyDirectory(fs, logDirectory, "/backup/raft-log");
  const second = await startDurableNode({ fs, ...nodeOptions });
  const flushed = second.node.runtime.member(0).flushedAppliedIndex;
  let truncatedTo = 0;
  for (let batch = 0; batch < 40 && truncatedTo <= flushed + 50; batch++) {
    for (const [key, value] of await writeKeys(second.port, `late${batch}-`, 50))
      written.set(key, value);
    truncatedTo = second.node.runtime.member(0).raw.status().firstIndex - 1;
  }
  await second.stop();
  t.true(
    truncatedTo > flushed + 50,
    `the log was truncated to ${truncatedTo}, the early data covers ${flushed}`,
  );
  return { fs, written, early: { flushed }, truncatedTo };
}

/** Starts a node on `fs` and checks that it holds `written`. */
async function startsWithEverything(
  t: ExecutionContext,
  fs: FileSystem,
  written: Map<string, string>,
): Promise<void> {
  const node = await startDurableNode({ fs, ...nodeOptions });
  try {
    const client = await RawClient.connect(node.port);
    const found = await readValues(client, [...written.keys()]);
    client.close();
    t.deepEqual(found, written);
  } finally {
    await node.stop();
  }
}

test("a node refuses to start when its log was truncated past the data (an older group directory restored)", async (t) => {
  const { fs, written, early, truncatedTo } = await twoLives(t);
  await copyDirectory(fs, groupDirectory, "/backup/groups-0-current");
  await copyDirectory(fs, "/backup/groups-0", groupDirectory);
  const error = await t.throwsAsync(startDurableNode({ fs, ...nodeOptions }));
  const reason =
    /^group 0: the raft log was truncated to index (\d+), but the data in \/data\/groups\/0 only covers index (\d+); entries in between are lost, refusing to start$/.exec(
      error?.message ?? "",
    );
  t.truthy(reason, error?.message);
  // The log may have been cut again as the second life stopped.
  t.true(
    Number(reason?.[1]) >= truncatedTo,
    `truncated to ${reason?.[1]}, at least ${truncatedTo}`,
  );
  t.is(Number(reason?.[2]), early.flushed);
  await copyDirectory(fs, "/backup/groups-0-current", groupDirectory);
  await startsWithEverything(t, fs, written);
});

test("a node refuses to start when the group's data has no log", async (t) => {
  const { fs, written } = await twoLives(t);
  await copyDirectory(fs, logDirectory, "/backup/raft-log-current");
  for (const name of await fs.list(logDirectory)) await fs.remove(joinPath(logDirectory, name));
  const error = await t.throwsAsync(startDurableNode({ fs, ...nodeOptions }));
  t.regex(
    error?.message ?? "",
    /^group 0: \/data\/groups\/0 holds data up to log index \d+, but the raft log has no record of the group; refusing to start$/,
  );
  await copyDirectory(fs, "/backup/raft-log-current", logDirectory);
  await startsWithEverything(t, fs, written);
});

test("a node refuses to start when its log ends before the data (an older log restored)", async (t) => {
  const { fs, written } = await twoLives(t);
  await copyDirectory(fs, logDirectory, "/backup/raft-log-current");
  await copyDirectory(fs, "/backup/raft-log", logDirectory);
  const error = await t.throwsAsync(startDurableNode({ fs, ...nodeOptions }));
  t.regex(
    error?.message ?? "",
    /^group 0: the data in \/data\/groups\/0 covers index \d+, beyond the raft log's last entry \d+, with no snapshot record to explain it; refusing to start$/,
  );
  await copyDirectory(fs, "/backup/raft-log-current", logDirectory);
  await startsWithEverything(t, fs, written);
});

test("memraft start refuses, on one line, a log truncated past the data of an older group directory", async (t) => {
  t.timeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-refusal-"));
  const running = new Set<NodeProcess>();
  t.teardown(() => {
    for (const node of running) node.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  const group = join(dataDir, "groups", "0");
  const lifeUnderLoad = async (prefix: string, count: number) => {
    const node = await startNodeProcess("small limits", dataDir);
    running.add(node);
    await writeKeys(node.port, prefix, count);
    node.child.kill("SIGKILL");
    await exitOf(node.child);
  };
  await lifeUnderLoad("early", 300);
  cpSync(group, join(dataDir, "backup"), { recursive: true });
  await lifeUnderLoad("late", 1500);
  rmSync(group, { recursive: true });
  cpSync(join(dataDir, "backup"), group, { recursive: true });

  const refused = spawnSync(
    process.execPath,
    [memraftBin, "start", "-p", String(await freePort()), "--data-dir", dataDir],
    { encoding: "utf8", timeout: 30_000 },
  );
  t.is(refused.status, 2, refused.stderr);
  const reason =
    /^memraft: group 0: the raft log was truncated to index (\d+), but the data in (.+) only covers index (\d+); entries in between are lost, refusing to start\n$/.exec(
      refused.stderr,
    );
  t.truthy(reason, refused.stderr);
  t.is(reason?.[2], group);
  t.true(Number(reason?.[1]) > Number(reason?.[3]));
});
