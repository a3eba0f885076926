// Crash points of a durable node (ARCHITECTURE.md decision 2): a node on the
// fault file system takes writes through the memcached protocol from
// concurrent clients, with a tiny memtable and log limits so that flushes
// (SST write, manifest edit), checkpoints and log truncations happen all the
// time; it crashes at a chosen file-system operation (or a random one, or
// during the recovery after it), unsynced bytes are dropped or torn, and a
// new node starts on what is left. Then:
// - every acknowledged write is there, and nothing else but the one write
//   per client whose reply never came (write-history.ts; appends and incrs
//   make a skipped or doubly applied entry visible);
// - the applied index is never durable without its data: the state record
//   in the LSM's files was written by the very entry the manifest says they
//   cover;
// - the restarted node reaches the same state hash as the crashed one at
//   every index both applied (the crashed process and its successor are
//   replicas at the same applied index), so nothing applied was lost or
//   applied differently.
// The node runs on real time, so a seed fixes the plan (points, occurrences,
// tear modes, operations) but not the interleaving. SEED=<n> replays a plan;
// MEMRAFT_LONG=1 runs many more rounds.

import test, { type ExecutionContext } from "ava";
import { LsmItemTable } from "../../src/cluster/item-table.js";
import { LsmEngine } from "../../src/lsm/engine.js";
import { Prng } from "../../src/raft/prng.js";
import { StoreStateMachine } from "../../src/store/state-machine.js";
import { type CrashPoint, CrashTrigger } from "../helpers/crash-trigger.js";
import { type CrashOptions, FaultFileSystem, type TearMode } from "../helpers/fault-fs.js";
import { startDurableNode, type TestNode } from "../helpers/memraft-node.js";
import { RawClient } from "../helpers/raw-client.js";
import { keyHistories } from "../helpers/write-history.js";
import { checkHistories, newCounters, runWriter, TextWriteClient } from "../helpers/write-load.js";

const long = process.env.MEMRAFT_LONG === "1";
const baseSeed =
  process.env.SEED === undefined
    ? Math.floor(Math.random() * 0x7fff_ffff)
    : Number(process.env.SEED);

/** Small enough that a few hundred writes flush, checkpoint and truncate many times. */
const nodeOptions = {
  memtableBytes: 4096,
  limits: { compactEntriesMin: 40, logTailEntries: 10, idleFlushMs: 100, tickMs: 10 },
};
const writers = 4;
const keysPerWriter = 20;
const operationsPerWriterMax = 300;

const sst = /\/groups\/0\/\d+\.sst$/;
const manifest = /\/groups\/0\/MANIFEST-\d+$/;
const raftLog = /\/raft-log\/\d+\.log$/;

/** Each point with the occurrences a round may pick (all reached within the load). */
const points: { point: CrashPoint; occurrenceMax: number }[] = [
  {
    point: { name: "SST being written", operation: "append", path: sst, when: "before" },
    occurrenceMax: 8,
  },
  {
    point: { name: "SST written, not synced", operation: "sync", path: sst, when: "before" },
    occurrenceMax: 8,
  },
  {
    point: {
      name: "SST synced, its directory not",
      operation: "syncDirectory",
      path: /\/groups\/0$/,
      when: "before",
    },
    occurrenceMax: 8,
  },
  {
    point: {
      name: "SST durable, manifest edit not written",
      operation: "append",
      path: manifest,
      when: "before",
    },
    occurrenceMax: 8,
  },
  {
    point: {
      name: "manifest edit written, not synced",
      operation: "sync",
      path: manifest,
      when: "before",
    },
    occurrenceMax: 8,
  },
  {
    point: {
      name: "manifest edit durable, nothing after",
      operation: "sync",
      path: manifest,
      when: "after",
    },
    occurrenceMax: 8,
  },
  {
    point: {
      name: "checkpoint half linked",
      operation: "link",
      path: /\/snapshots\//,
      when: "after",
    },
    occurrenceMax: 6,
  },
  {
    point: {
      name: "checkpoint complete, log not truncated",
      operation: "rename",
      path: /\/snapshots\/.*CURRENT/,
      when: "after",
    },
    occurrenceMax: 3,
  },
  {
    point: {
      name: "truncation record written, not synced",
      operation: "sync",
      path: raftLog,
      when: "before",
      duringTruncation: true,
    },
    occurrenceMax: 3,
  },
  {
    point: {
      name: "log truncated",
      operation: "sync",
      path: raftLog,
      when: "after",
      duringTruncation: true,
    },
    occurrenceMax: 3,
  },
  {
    point: { name: "compaction input removed", operation: "remove", path: sst, when: "after" },
    occurrenceMax: 6,
  },
  {
    point: {
      name: "entries written, not synced",
      operation: "sync",
      path: raftLog,
      when: "before",
    },
    occurrenceMax: 300,
  },
  {
    point: { name: "entries synced, not applied", operation: "sync", path: raftLog, when: "after" },
    occurrenceMax: 300,
  },
];

const anyOperation: CrashPoint = {
  name: "random operation",
  operation: "any",
  path: /./,
  when: "before",
};
const tearModes: TearMode[] = ["drop", "torn", "garbage"];

interface RoundPlan {
  /** Rounds are numbered from the base seed: SEED=<base> replays them in order. */
  readonly round: number;
  readonly point: CrashPoint;
  readonly occurrence: number;
  readonly mode: TearMode;
  /** Crash the first restart too, at this operation of it. */
  readonly recoveryCrashAt: number | undefined;
}

interface RoundFigures {
  readonly acknowledged: number;
  readonly truncations: number;
  readonly hashesCompared: number;
  readonly reached: boolean;
}

function describePlan(plan: RoundPlan): string {
  const recovery =
    plan.recoveryCrashAt === undefined
      ? ""
      : `, recovery crashed at operation ${plan.recoveryCrashAt}`;
  return `SEED=${baseSeed} round ${plan.round}: crash ${plan.point.when} "${plan.point.name}" #${plan.occurrence}, ${plan.mode}${recovery}`;
}

/** The applied index the LSM's files cover, and the state hash their state record holds. */
async function durableState(
  fs: FaultFileSystem,
): Promise<{ flushed: number; hashIndex: number; hash: bigint }> {
  const engine = await LsmEngine.open("/data/groups/0", {
    fileSystem: fs.processView(),
    wal: false,
  });
  try {
    const machine = await StoreStateMachine.open(new LsmItemTable(engine), {
      itemSizeMaxBytes: 1024 * 1024,
      casGeneration: 0,
    });
    const { index, hash } = machine.latestHash;
    return { flushed: Math.max(0, engine.flushedAppliedIndex), hashIndex: index, hash };
  } finally {
    await engine.close();
  }
}

/** Starts a node that crashes at its `operation`-th file-system operation, during start-up or soon after. */
async function crashDuringRecovery(
  fs: FaultFileSystem,
  crash: CrashOptions,
  operation: number,
): Promise<void> {
  const trigger = new CrashTrigger(fs, anyOperation, operation, crash);
  let node: TestNode | undefined;
  try {
    node = await startDurableNode({ fs: fs.processView(), ...nodeOptions });
  } catch {
    // The crash failed the start: the process is gone.
  }
  trigger.crashNow("start-up finished first");
  await node?.stop();
}

async function crashRound(t: ExecutionContext, plan: RoundPlan): Promise<RoundFigures> {
  try {
    return await crashAndCheck(t, plan);
  } catch (error) {
    throw new Error(`${describePlan(plan)}: ${String(error)}`, { cause: error });
  }
}

async function crashAndCheck(t: ExecutionContext, plan: RoundPlan): Promise<RoundFigures> {
  const what = describePlan(plan);
  const random = new Prng(baseSeed + plan.round);
  const fraction = () => random.nextUint32() / 0x1_0000_0000;
  const fs = new FaultFileSystem();
  const histories = keyHistories(writers, keysPerWriter);
  const first = await startDurableNode({ fs: fs.processView(), ...nodeOptions });
  // Crashes during a start are the recovery crashes' business.
  const trigger = new CrashTrigger(fs, plan.point, plan.occurrence, {
    mode: plan.mode,
    random: fraction,
  });
  trigger.watchTruncations(first.node.runtime.storage);
  const counters = newCounters();
  const clients = await Promise.all(
    histories.map(async () => new TextWriteClient(await RawClient.connect(first.port))),
  );
  await Promise.all(
    histories.map((keys, writer) =>
      runWriter({
        client: clients[writer]!,
        keys,
        random: new Prng((baseSeed + plan.round) * 7 + writer + 1),
        tag: `w${writer}`,
        operationsMax: operationsPerWriterMax,
        shouldStop: () => trigger.crashed,
        counters,
      }),
    ),
  );
  const reached = trigger.crashed;
  trigger.crashNow("after the load");
  for (const client of clients) client.close();
  const crashed = first.node.runtime.member(0);
  await first.stop();
  t.deepEqual(counters.wrongReplies, [], `${what}: replies before the crash`);
  t.deepEqual(counters.unanswered, [], `${what}: writes without an answer before the crash`);

  const durable = await durableState(fs);
  t.is(
    durable.hashIndex,
    durable.flushed,
    `${what}: the LSM's state record is from the index its manifest says it covers`,
  );
  const crashedHash = crashed.machine.hashAt(durable.flushed);
  if (crashedHash !== undefined)
    t.is(durable.hash, crashedHash, `${what}: the flushed state hash is the crashed node's`);

  if (plan.recoveryCrashAt !== undefined)
    await crashDuringRecovery(fs, { mode: plan.mode, random: fraction }, plan.recoveryCrashAt);
  const restarted = await startDurableNode({ fs: fs.processView(), ...nodeOptions });
  try {
    const reader = await RawClient.connect(restarted.port);
    const problems = await checkHistories(reader, histories.flat()).catch((error: unknown) => {
      const failure = restarted.node.runtime.failed;
      throw new Error(
        `reading after the restart failed; the node ${failure ? `stopped: ${failure.stack}` : "runs"}`,
        {
          cause: error,
        },
      );
    });
    reader.close();
    t.deepEqual(
      problems,
      [],
      `${what}: acknowledged writes after the restart (at ${trigger.crashedAt})`,
    );
    const member = restarted.node.runtime.member(0);
    t.true(
      member.appliedIndex >= crashed.appliedIndex,
      `${what}: the restarted node applied ${member.appliedIndex}, the crashed one ${crashed.appliedIndex}`,
    );
    let hashesCompared = 0;
    for (let index = durable.flushed + 1; index <= crashed.appliedIndex; index++) {
      const before = crashed.machine.hashAt(index);
      const after = member.machine.hashAt(index);
      if (before === undefined || after === undefined) continue;
      hashesCompared++;
      if (before !== after) {
        t.fail(`${what}: state hash at index ${index} differs after the restart`);
        break;
      }
    }
    return {
      acknowledged: counters.acknowledged,
      truncations: trigger.truncations,
      hashesCompared,
      reached,
    };
  } finally {
    await restarted.stop();
  }
}

function summary(figures: RoundFigures[]): string {
  const sum = (pick: (f: RoundFigures) => number) =>
    figures.reduce((total, f) => total + pick(f), 0);
  return `${figures.length} crashes, ${sum((f) => f.acknowledged)} acknowledged writes checked, ${sum((f) => f.truncations)} log truncations before them, ${sum((f) => f.hashesCompared)} state hashes compared`;
}

test.serial(
  "a crash at each point of flush, checkpoint and log truncation keeps every acknowledged write",
  async (t) => {
    t.timeout(long ? 25 * 60_000 : 90_000);
    const repeats = long ? 12 : 1;
    const figures: RoundFigures[] = [];
    let round = 0;
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const { point, occurrenceMax } of points) {
        const random = new Prng(~(baseSeed + round));
        const plan: RoundPlan = {
          round: round++,
          point,
          occurrence: 1 + random.int(occurrenceMax),
          mode: tearModes[random.int(tearModes.length)]!,
          recoveryCrashAt: undefined,
        };
        const result = await crashRound(t, plan);
        t.true(result.reached, `${describePlan(plan)}: the load never reached the crash point`);
        figures.push(result);
      }
    }
    t.log(`base SEED=${baseSeed}: ${summary(figures)}`);
  },
);

test.serial(
  "a crash at a random operation, and another during recovery, keeps every acknowledged write",
  async (t) => {
    t.timeout(long ? 25 * 60_000 : 90_000);
    const rounds = long ? 150 : 6;
    const figures: RoundFigures[] = [];
    for (let round = 100_000; round < 100_000 + rounds; round++) {
      const random = new Prng(~(baseSeed + round));
      const plan: RoundPlan = {
        round,
        point: anyOperation,
        occurrence: 1 + random.int(2500),
        mode: tearModes[random.int(tearModes.length)]!,
        recoveryCrashAt: random.chance(0.5) ? 1 + random.int(80) : undefined,
      };
      figures.push(await crashRound(t, plan));
    }
    t.log(`base SEED=${baseSeed}: ${summary(figures)}`);
  },
);
