// Three memraft nodes as separate processes on 127.0.0.1-3. Clients on
// every node run the kv workload (kv-workload.ts) while, each round, the
// leader is killed with SIGKILL (odd rounds) or paused with SIGSTOP (even
// rounds, test:long only):
// - writes continue once a new leader is elected; the unavailability window
//   (fault to the first acknowledged write started after it) is printed;
// - a killed node restarts with stale reads, so that what it serves is its
//   own state: it has caught up once it shows a value written after its
//   restart (entries apply in log order); then it restarts once more, with
//   linearizable reads, and its clients read again;
// - a paused node is resumed and must follow the new leader's term;
// - at the end every node serves the same values, no acknowledged write is
//   missing or doubled, and the history of every client (final reads
//   included; unknown outcomes as unknown) is linearizable per key.
// npm test runs one kill round; MEMRAFT_LONG=1 runs five rounds, longer,
// over more keys. SEED=<n> replays the workload's choices and the fault
// moments (not the timing of the processes).

import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import test from "ava";
import { Prng } from "../../src/raft/prng.js";
import { useProcessCluster } from "../helpers/cluster-fixture.js";
import { type Endpoint, KvClient } from "../helpers/kv-client.js";
import type { ClusterNode } from "../helpers/process-cluster.js";
import { waitFor } from "../helpers/wait.js";
import { KvWorkload } from "./kv-workload.js";
import { checkWorkloadEnd } from "./workload-checks.js";
import { probeWrites } from "./write-probe.js";

const long = process.env.MEMRAFT_LONG === "1";
const seed = process.env.SEED === undefined ? randomInt(2 ** 31) : Number(process.env.SEED);
const rounds = long ? 5 : 1;
/** How long the load runs between the events of a round. */
const phaseMs = long ? 8_000 : 2_500;
const clientsPerNode = 2;
/** Bounds for waits that include an election under load on a busy machine. */
const recoveryTimeoutMs = 30_000;

const cluster = useProcessCluster({ nodeCount: 3 });

type Fault = "kill" | "pause";

interface RoundFigures {
  readonly fault: Fault;
  readonly node: string;
  /** Fault to the successor's "became leader" log line. */
  readonly electedMs: number;
  /** Fault to the first acknowledged new write (write-probe.ts). */
  readonly unavailableMs: number;
  /** Fault to the first acknowledged workload write called after it. */
  readonly clientStallMs: number;
  /**
   * kill: restart (ready) to serving, from its own state, a value written
   * after it. pause: resume to the node's log line that it follows the
   * successor's term.
   */
  readonly recoveryMs: number;
}

test.serial(
  "kill -9 (and in test:long SIGSTOP) of the leader under load: writes go on, none is lost, the history is linearizable, the node catches up",
  async (t) => {
    t.timeout(long ? 30 * 60_000 : 110_000);
    const nodes = cluster().nodes;
    const random = new Prng(seed);
    t.log(
      `SEED=${seed} rounds=${rounds} phaseMs=${phaseMs} clients=${clientsPerNode * nodes.length}`,
    );
    const workload = new KvWorkload({
      seed,
      // Long runs record 100,000+ operations: spread over more keys, each
      // key's history stays small enough for the checker's search.
      registerKeys: long ? 32 : 4,
      logKeys: long ? 32 : 4,
      operationsPerClientMax: long ? 200_000 : 20_000,
      replyTimeoutMs: 10_000,
    });
    await workload.setup(nodes[0]!);
    workload.start(
      nodes.flatMap((node) => Array(clientsPerNode).fill({ nodeId: node.id, endpoint: node })),
    );
    const figures: RoundFigures[] = [];
    try {
      for (let round = 1; round <= rounds; round++) {
        // Let the load run before the kill, for a drawn while.
        await delay(phaseMs / 2 + random.int(phaseMs));
        const fault: Fault = round % 2 === 1 ? "kill" : "pause";
        figures.push(await faultRound(fault, workload, random));
        t.log(`round ${round}: ${JSON.stringify(figures.at(-1))}`);
      }
    } finally {
      await workload.stop();
    }
    await checkWorkloadEnd(t, workload, nodes);
    t.log(`unavailability windows (ms): ${figures.map((f) => f.unavailableMs).join(", ")}`);
  },
);

/**
 * One round: SIGKILL or SIGSTOP the leader; measure how long until writes
 * are acknowledged again; let the load run; bring the node back.
 */
async function faultRound(fault: Fault, workload: KvWorkload, random: Prng): Promise<RoundFigures> {
  const victim = (await cluster().leader({ timeoutMs: recoveryTimeoutMs })).node;
  const faultMs = Date.now();
  if (fault === "kill") await cluster().kill(victim.id);
  else cluster().pause(victim.id);
  const survivors = cluster().nodes.filter((node) => node.id !== victim.id);
  const probe = await probeWrites(survivors, faultMs, {
    timeoutMs: recoveryTimeoutMs,
    replyTimeoutMs: 10_000,
  });
  await waitFor(
    "a workload write acknowledged after the fault",
    () => workload.firstAcknowledgedSince(faultMs) !== undefined,
    recoveryTimeoutMs,
    20,
  );
  const clientStallMs = workload.firstAcknowledgedSince(faultMs)!.returnMs! - faultMs;
  const successor = await cluster().leader({ timeoutMs: recoveryTimeoutMs });
  await delay(phaseMs);
  const recoveryMs =
    fault === "kill"
      ? await restartAndCatchUp(victim, survivors, workload, random)
      : await resumeAndFollow(victim, successor.term);
  return {
    fault,
    node: victim.id,
    electedMs: successor.sinceMs - faultMs,
    unavailableMs: probe.unavailableMs,
    clientStallMs,
    recoveryMs,
  };
}

/**
 * Restarts a killed node with stale reads until it shows a value written
 * after its restart; lets the load run; restarts it as it was. Returns the
 * catch-up time.
 */
async function restartAndCatchUp(
  victim: ClusterNode,
  survivors: readonly ClusterNode[],
  workload: KvWorkload,
  random: Prng,
): Promise<number> {
  workload.setWritesOnly(victim.id, true);
  await cluster().startNode(victim.id, { readMode: "stale" });
  const readyMs = Date.now();
  const marker = `r${random.int(1e9)}`;
  await writeAcknowledged(survivors[random.int(survivors.length)]!, "catch-up:marker", marker);
  await waitFor(
    `${victim.id} to apply a value written after its restart`,
    async () => (await staleRead(victim, "catch-up:marker")) === marker,
    recoveryTimeoutMs,
    20,
  );
  const catchUpMs = Date.now() - readyMs;
  await delay(phaseMs);
  await cluster().terminate(victim.id);
  await cluster().startNode(victim.id);
  workload.setWritesOnly(victim.id, false);
  return catchUpMs;
}

/** Resumes a paused old leader; returns how long until it follows the new term. */
async function resumeAndFollow(victim: ClusterNode, term: number): Promise<number> {
  const resumedMs = Date.now();
  cluster().resume(victim.id);
  await waitFor(
    `${victim.id} to follow term ${term} or later`,
    () => {
      const state = cluster().role(victim.id);
      return state !== undefined && state.term >= term;
    },
    recoveryTimeoutMs,
    20,
  );
  const followingMs = Date.now() - resumedMs;
  await delay(phaseMs);
  return followingMs;
}

/** Sets `key` through `node`, trying again (it is a set) until acknowledged. */
async function writeAcknowledged(node: ClusterNode, key: string, value: string): Promise<void> {
  const client = new KvClient(node, 10_000);
  try {
    await waitFor(
      `set ${key} through ${node.id} to be acknowledged`,
      async () => (await client.connect()) && isStored(await client.set(key, value)),
      recoveryTimeoutMs,
      50,
    );
  } finally {
    client.close();
  }
}

function isStored(reply: Awaited<ReturnType<KvClient["set"]>>): boolean {
  return reply.kind === "line" && reply.line === "STORED";
}

async function staleRead(endpoint: Endpoint, key: string): Promise<string | undefined> {
  const client = new KvClient(endpoint, 5_000);
  try {
    if (!(await client.connect())) return undefined;
    const reply = await client.get(key);
    return reply.kind === "value" ? reply.value : undefined;
  } finally {
    client.close();
  }
}
