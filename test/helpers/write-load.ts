// Write load for the durability tests: writers that each own some keys and
// send one operation at a time through a memcached client, recording every
// operation in the keys' histories (write-history.ts), and a reader that
// checks what a restarted node holds against them.

import type { Prng } from "../../src/raft/prng.js";
import type { RawClient } from "./raw-client.js";
import type { KeyHistory, WriteOperation } from "./write-history.js";

/** A client as the writers use it. */
export interface WriteClient {
  /**
   * Sends one operation and resolves with the server's reply; rejects when
   * there is no definite reply (connection lost, SERVER_ERROR, timeout).
   */
  send(key: string, operation: WriteOperation): Promise<string>;
}

export interface LoadCounters {
  issued: number;
  acknowledged: number;
  /** Definite replies that differ from what the histories say they must be. */
  readonly wrongReplies: string[];
  /** Operations left without a definite reply while the writers were not told to stop. */
  readonly unanswered: string[];
}

export function newCounters(): LoadCounters {
  return { issued: 0, acknowledged: 0, wrongReplies: [], unanswered: [] };
}

export interface WriterOptions {
  readonly client: WriteClient;
  readonly keys: readonly KeyHistory[];
  readonly random: Prng;
  /** Makes values unique across writers and rounds. */
  readonly tag: string;
  readonly operationsMax: number;
  readonly shouldStop: () => boolean;
  readonly counters: LoadCounters;
}

/**
 * Sends operations until told to stop, `operationsMax` is reached, or an
 * operation gets no definite reply (its key's fate is then unknown until
 * the next check, and the writer stops).
 */
export async function runWriter(options: WriterOptions): Promise<void> {
  const { keys, random, counters } = options;
  for (let n = 0; n < options.operationsMax && !options.shouldStop(); n++) {
    const history = keys[random.int(keys.length)]!;
    const operation = history.nextOperation(random, `${options.tag}n${n}`);
    const expected = history.issue(operation);
    counters.issued++;
    let reply: string;
    try {
      reply = await options.client.send(history.key, operation);
    } catch (error) {
      if (!options.shouldStop()) counters.unanswered.push(`${history.key}: ${String(error)}`);
      return;
    }
    if (reply !== expected) {
      counters.wrongReplies.push(
        `${history.key}: ${operation.kind} got ${JSON.stringify(reply)}, expected ${expected}`,
      );
      return;
    }
    history.acknowledge();
    counters.acknowledged++;
  }
}

/** A writer's client over the text protocol, one request at a time on one connection. */
export class TextWriteClient implements WriteClient {
  constructor(private readonly connection: RawClient) {}

  async send(key: string, operation: WriteOperation): Promise<string> {
    const reply = await this.connection.request(textCommand(key, operation));
    if (!reply.endsWith("\r\n") || reply.startsWith("SERVER_ERROR")) {
      throw new Error(`no definite reply: ${JSON.stringify(reply)}`);
    }
    return reply.slice(0, -2);
  }

  close(): void {
    this.connection.close();
  }
}

function textCommand(key: string, operation: WriteOperation): string {
  switch (operation.kind) {
    case "set":
    case "append":
      return `${operation.kind} ${key} 0 0 ${operation.value.length}\r\n${operation.value}\r\n`;
    case "delete":
      return `delete ${key}\r\n`;
    case "incr":
      return `incr ${key} ${operation.by}\r\n`;
  }
}

/** Reads keys with multi-gets; absent keys are left out of the map. */
export async function readValues(
  connection: RawClient,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (let start = 0; start < keys.length; start += 50) {
    const batch = keys.slice(start, start + 50);
    const reply = await connection.request(`get ${batch.join(" ")}\r\n`, "END\r\n");
    let at = 0;
    while (reply.startsWith("VALUE ", at)) {
      const lineEnd = reply.indexOf("\r\n", at);
      const [, key, , bytes] = reply.slice(at, lineEnd).split(" ");
      const dataStart = lineEnd + 2;
      values.set(key!, reply.slice(dataStart, dataStart + Number(bytes)));
      at = dataStart + Number(bytes) + 2;
    }
    if (reply.slice(at) !== "END\r\n") throw new Error(`unexpected get reply: ${reply.slice(at)}`);
  }
  return values;
}

/** Checks every key against its history; returns the problems found. */
export async function checkHistories(
  connection: RawClient,
  histories: readonly KeyHistory[],
): Promise<string[]> {
  const values = await readValues(
    connection,
    histories.map((history) => history.key),
  );
  const problems: string[] = [];
  for (const history of histories) {
    const problem = history.check(values.get(history.key));
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}
