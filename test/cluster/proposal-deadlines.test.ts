// A leader's proposal that is not applied by its deadline fails with
// ERR_TIMEOUT (its fate unknown), whatever order the deadlines came in; one
// without a deadline waits. The member here is a lone voter whose Ready is
// never processed, so nothing it proposes is ever applied.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { GroupMember } from "../../src/cluster/group-member.js";
import { NodeFileSystem } from "../../src/fs/node-file-system.js";
import { BlockCache } from "../../src/lsm/index.js";
import { MemraftError } from "../../src/util/errors.js";
import { silentLogger } from "../../src/util/logger.js";

async function leaderThatNeverApplies(directory: string): Promise<GroupMember> {
  const member = await GroupMember.open({
    groupId: 5,
    nodeId: 1,
    directory: join(directory, "group"),
    fs: new NodeFileSystem(),
    bootstrapVoters: [1],
    recovered: undefined,
    raft: { electionTicks: 10, heartbeatTicks: 1, readMode: "safe" },
    itemSizeMaxBytes: 1 << 20,
    blockCache: new BlockCache(1 << 20),
    memtableBytes: 1 << 20,
    logger: silentLogger,
    onFlushed: () => {},
  });
  member.raw.campaign();
  return member;
}

/** When `promise` settles, and how. */
async function settled(promise: Promise<unknown>): Promise<{ at: number; error: unknown }> {
  try {
    await promise;
    return { at: Date.now(), error: undefined };
  } catch (error) {
    return { at: Date.now(), error };
  }
}

test("proposals fail with ERR_TIMEOUT at their own deadlines, in any order; one without a deadline waits", async (t) => {
  const directory = mkdtempSync(join(tmpdir(), "memraft-deadlines-"));
  const member = await leaderThatNeverApplies(directory);
  try {
    t.true(member.isLeader);
    const start = Date.now();
    const late = settled(member.propose(Uint8Array.of(1), start + 600));
    // Proposed after the late one, due before it: the member's one timer must move earlier.
    const early = settled(member.propose(Uint8Array.of(2), start + 150));
    let waitingSettled = false;
    const waiting = member.propose(Uint8Array.of(3));
    waiting.then(
      () => {
        waitingSettled = true;
      },
      () => {
        waitingSettled = true;
      },
    );

    const first = await early;
    t.true(MemraftError.is(first.error, "ERR_TIMEOUT"), String(first.error));
    t.true(first.at - start >= 150, `failed ${first.at - start} ms after proposing`);
    t.true(first.at - start < 550, `failed ${first.at - start} ms after proposing, not near 150`);

    const second = await late;
    t.true(MemraftError.is(second.error, "ERR_TIMEOUT"), String(second.error));
    t.true(second.at - start >= 600, `failed ${second.at - start} ms after proposing`);
    t.false(waitingSettled, "a proposal without a deadline is still waiting");
  } finally {
    await member.close();
    rmSync(directory, { recursive: true, force: true });
  }
});
