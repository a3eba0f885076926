// kill -9 of a durable node under concurrent write load from a real client
// (the node `memcached` package): each round starts the server on the same
// data directory, checks every key against what clients were told before
// the last kill (write-history.ts: every acknowledged write is there;
// besides, at most the one write per client whose reply never came), puts
// it under load, and kills it at a random moment. Rounds alternate between
// `memraft start` (production limits: the log is replayed) and a node with
// tiny memtable and log limits (flushes, checkpoints and log truncations
// happen under the load, so kills land between them). At the end a graceful
// stop and restart must keep everything too.
//
// A kill loses process memory only, not the page cache: this tests what the
// node acknowledges before writing it, not fsync (the crash-point tests on
// the fault file system do that). SEED=<n> replays the plan (kill delays,
// operations), not the timing; MEMRAFT_LONG=1 runs many more rounds.

import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import Memcached from "memcached";
import { Prng } from "../../src/raft/prng.js";
import {
  exitOf,
  type NodeProcess,
  type NodeProcessKind,
  startNodeProcess,
} from "../helpers/node-process.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor } from "../helpers/wait.js";
import { type KeyHistory, keyHistories, type WriteOperation } from "../helpers/write-history.js";
import {
  checkHistories,
  type LoadCounters,
  newCounters,
  runWriter,
  type WriteClient,
} from "../helpers/write-load.js";

const long = process.env.MEMRAFT_LONG === "1";
const rounds = long ? 60 : 4;
const seed =
  process.env.SEED === undefined
    ? Math.floor(Math.random() * 0x7fff_ffff)
    : Number(process.env.SEED);
const writers = 6;
const keysPerWriter = 30;
/** Kills land this long after the first acknowledged write, at most. */
const killDelayMsMax = 1500;

/**
 * The node `memcached` package as the writers' client. It reports
 * NOT_STORED as an error, and never calls back for a request in flight when
 * the server dies: abandon() settles those as having no definite reply.
 */
class MemcachedWriteClient implements WriteClient {
  private readonly inFlight = new Set<(error: Error) => void>();

  constructor(private readonly client: Memcached) {}

  send(key: string, operation: WriteOperation): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error("no reply in time")), replyTimeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        this.inFlight.delete(fail);
        reject(error);
      };
      this.inFlight.add(fail);
      const settle = (reply: (result: unknown) => string) => (error: unknown, result: unknown) => {
        if (!this.inFlight.has(fail)) return;
        if (error !== undefined && !notStored(error)) return fail(new Error(String(error)));
        clearTimeout(timer);
        this.inFlight.delete(fail);
        resolve(reply(result));
      };
      const { client } = this;
      switch (operation.kind) {
        case "set":
          return client.set(key, operation.value, 0, settle(stored));
        case "append":
          return client.append(key, operation.value, settle(stored));
        case "delete":
          return client.del(
            key,
            settle((result) => (result ? "DELETED" : "NOT_FOUND")),
          );
        case "incr":
          return client.incr(
            key,
            operation.by,
            settle((result) => (result === false ? "NOT_FOUND" : String(result))),
          );
      }
    });
  }

  abandon(): void {
    for (const fail of [...this.inFlight]) fail(new Error("the server was killed"));
    this.client.end();
  }
}

/**
 * No retries, and no timer of the client's failure bookkeeping left behind
 * (failuresTimeout, missing from its types, defaults to 5 minutes).
 */
const noRetries = { retries: 0, retry: 0, failuresTimeout: 10, remove: true };

/** Longer than the server's own request timeout (5 s): the server answers first. */
const replyTimeoutMs = 8000;

function notStored(error: unknown): boolean {
  return error instanceof Error && error.message === "Item is not stored";
}

function stored(result: unknown): string {
  return result === true ? "STORED" : "NOT_STORED";
}

/** Checks every key; false (with the failure recorded) if one does not hold what it must. */
async function checkServer(
  t: ExecutionContext,
  server: NodeProcess,
  histories: readonly KeyHistory[],
  what: string,
): Promise<boolean> {
  const reader = await RawClient.connect(server.port);
  try {
    return t.deepEqual(await checkHistories(reader, histories), [], `SEED=${seed}: ${what}`);
  } finally {
    reader.close();
  }
}

/** Puts the server under load and kills it `killDelayMs` after the first acknowledged write. */
async function loadAndKill(
  server: NodeProcess,
  histories: readonly KeyHistory[][],
  random: Prng,
  round: number,
  killDelayMs: number,
): Promise<LoadCounters> {
  const client = new MemcachedWriteClient(
    new Memcached(`127.0.0.1:${server.port}`, { poolSize: writers, ...noRetries }),
  );
  const counters = newCounters();
  let killed = false;
  const load = Promise.all(
    histories.map((keys, writer) =>
      runWriter({
        client,
        keys,
        random: new Prng(random.nextUint32()),
        tag: `r${round}w${writer}`,
        operationsMax: 100_000,
        shouldStop: () => killed,
        counters,
      }),
    ),
  );
  try {
    await waitFor(
      "a first acknowledged write",
      () => counters.acknowledged > 0 || server.child.exitCode !== null,
      15_000,
    );
    // The random moment of the kill (not a synchronization: any moment will do).
    await new Promise((resolve) => setTimeout(resolve, killDelayMs));
  } finally {
    killed = true;
    server.child.kill("SIGKILL");
  }
  await exitOf(server.child);
  client.abandon();
  await load;
  return counters;
}

test.serial("kill -9 at random moments under load keeps every acknowledged write", async (t) => {
  t.timeout(long ? 25 * 60_000 : 100_000);
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-kill-"));
  const running = new Set<ChildProcess>();
  t.teardown(() => {
    for (const child of running) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = async (kind: NodeProcessKind) => {
    const server = await startNodeProcess(kind, dataDir);
    running.add(server.child);
    return server;
  };
  const random = new Prng(seed);
  const histories = keyHistories(writers, keysPerWriter);
  const keys = histories.flat();
  let acknowledged = 0;
  for (let round = 0; round < rounds; round++) {
    const kind: NodeProcessKind = round % 2 === 0 ? "memraft start" : "small limits";
    const killDelayMs = random.int(killDelayMsMax);
    const server = await start(kind);
    if (!(await checkServer(t, server, keys, `round ${round} (${kind}): after the kill before it`)))
      return;
    const counters = await loadAndKill(server, histories, random, round, killDelayMs);
    const what = `SEED=${seed} round ${round} (${kind}, killed ${killDelayMs} ms after the first write)`;
    const answered =
      t.deepEqual(counters.wrongReplies, [], `${what}: replies`) &&
      t.deepEqual(
        counters.unanswered,
        [],
        `${what}: writes without an answer before the kill\n${server.stderr()}`,
      );
    if (!answered) return;
    acknowledged += counters.acknowledged;
  }
  const last = await start("memraft start");
  if (!(await checkServer(t, last, keys, "after the last kill"))) return;
  last.child.kill("SIGTERM");
  t.is(await exitOf(last.child), 0, `a graceful stop exits 0: ${last.stderr()}`);
  const clean = await start("small limits");
  await checkServer(t, clean, keys, "after a graceful stop");
  t.log(`SEED=${seed}: ${rounds} kills, ${acknowledged} acknowledged writes checked`);
});
