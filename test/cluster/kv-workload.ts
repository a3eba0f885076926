// A workload for cluster tests whose every operation goes into a history
// for the linearizability checker (the kv model: get, put = set, append).
//
// Keys come in two kinds, all created empty before the workload starts:
// - "reg:<i>": set, append and get; the checker decides whether the values
//   read agree with some order of the writes;
// - "log:<i>": append and get only, so the final value must hold every
//   acknowledged append exactly once: a lost or doubled write is visible
//   without the checker.
// Every value written is unique ("c<client>n<op>", appends prefixed with
// "."), so a value read names the write it came from.
//
// Each client works one operation at a time through one node and records
// it: acknowledged, certainly not done (never sent), or unknown (SERVER_ERROR,
// lost connection, no reply): unknown ones stay in the history as such.

import { setTimeout as delay } from "node:timers/promises";
import { Prng } from "../../src/raft/prng.js";
import { type Endpoint, KvClient, type KvReply } from "../helpers/kv-client.js";
import { HistoryRecorder } from "../linearizability/history.js";
import type { KvInput, KvOutput } from "../linearizability/kv-model.js";

export interface KvWorkloadOptions {
  readonly seed: number;
  readonly registerKeys: number;
  readonly logKeys: number;
  /** Operations per client at most (the workload is also stopped by time). */
  readonly operationsPerClientMax: number;
  /** Longer than the server's own request timeout, so the server decides first. */
  readonly replyTimeoutMs: number;
  /** How the workload's clients talk (default KvClient; a real client library may stand in). */
  readonly connectionOf?: (endpoint: Endpoint, replyTimeoutMs: number) => KvConnection;
}

/** What a workload client needs of a connection (KvClient's shape). */
export interface KvConnection {
  connect(): Promise<boolean>;
  get(key: string): Promise<KvReply>;
  set(key: string, value: string): Promise<KvReply>;
  append(key: string, value: string): Promise<KvReply>;
  close(): void;
}

export interface WorkloadClient {
  readonly nodeId: string;
  readonly endpoint: Endpoint;
}

export interface WriteRecord {
  readonly clientId: number;
  readonly key: string;
  readonly kind: "put" | "append";
  readonly token: string;
  readonly callMs: number;
  /** Undefined while running or when the outcome is unknown. */
  returnMs: number | undefined;
  status: "running" | "acknowledged" | "unknown" | "not-done";
}

/** A pause before trying a node that refused a connection again. */
const reconnectPauseMs = 50;

export class KvWorkload {
  readonly history = new HistoryRecorder<KvInput, KvOutput>();
  readonly writes: WriteRecord[] = [];
  /** Replies a correct server never gives here (a miss on a created key, NOT_STORED…). */
  readonly anomalies: string[] = [];
  /** Why outcomes were unknown, with counts. */
  readonly unknownReasons = new Map<string, number>();
  /** When each unknown outcome was seen (ms since the epoch), for error windows. */
  readonly unknownTimes: number[] = [];
  readonly keys: readonly string[];
  private readonly writesOnlyNodes = new Set<string>();
  private readonly retiredNodes = new Set<string>();
  private readonly running: Promise<void>[] = [];
  private stopping = false;
  private nextClientId = 1;
  private operationCount = 0;

  constructor(private readonly options: KvWorkloadOptions) {
    const keys: string[] = [];
    for (let i = 0; i < options.registerKeys; i++) keys.push(`reg:${i}`);
    for (let i = 0; i < options.logKeys; i++) keys.push(`log:${i}`);
    this.keys = keys;
  }

  /** Operations sent so far (acknowledged or not). */
  get operations(): number {
    return this.operationCount;
  }

  /** Creates every key empty through `endpoint`; each set must be acknowledged. */
  async setup(endpoint: Endpoint): Promise<void> {
    const client = new KvClient(endpoint, this.options.replyTimeoutMs);
    const clientId = this.nextClientId++;
    try {
      for (const key of this.keys) {
        if (!(await client.connect())) throw new Error(`setup: cannot connect to ${endpoint.host}`);
        const handle = this.history.call(clientId, { kind: "put", key, value: "" });
        const reply = await client.set(key, "");
        if (reply.kind !== "line" || reply.line !== "STORED")
          throw new Error(`setup: set ${key} answered ${JSON.stringify(reply)}`);
        this.history.ok(handle, "");
      }
    } finally {
      client.close();
    }
  }

  /** Starts one client per entry; they run until stop(). */
  start(clients: readonly WorkloadClient[]): void {
    for (const client of clients) {
      const clientId = this.nextClientId++;
      const random = new Prng((this.options.seed ^ Math.imul(clientId, 0x9e3779b1)) >>> 0);
      this.running.push(this.runClient(clientId, client, random));
    }
  }

  /** Clients on `nodeId` only write (its reads are stale, not for the history). */
  setWritesOnly(nodeId: string, writesOnly: boolean): void {
    if (writesOnly) this.writesOnlyNodes.add(nodeId);
    else this.writesOnlyNodes.delete(nodeId);
  }

  /** Ends the clients on `nodeId` after their operation in flight (the node is leaving). */
  retire(nodeId: string): void {
    this.retiredNodes.add(nodeId);
  }

  /** Lets each client finish its operation in flight, then ends them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  /** The first write acknowledged among those called at or after `sinceMs`. */
  firstAcknowledgedSince(sinceMs: number): WriteRecord | undefined {
    let first: WriteRecord | undefined;
    for (const write of this.writes) {
      if (write.status !== "acknowledged" || write.callMs < sinceMs) continue;
      if (first === undefined || write.returnMs! < first.returnMs!) first = write;
    }
    return first;
  }

  /** Reads every key through `endpoint`, recording the reads in the history. */
  async readAll(endpoint: Endpoint): Promise<Map<string, string>> {
    const client = new KvClient(endpoint, this.options.replyTimeoutMs);
    const clientId = this.nextClientId++;
    const values = new Map<string, string>();
    try {
      for (const key of this.keys) {
        if (!(await client.connect())) throw new Error(`cannot connect to ${endpoint.host}`);
        const handle = this.history.call(clientId, { kind: "get", key, value: "" });
        const reply = await client.get(key);
        if (reply.kind !== "value" || reply.value === undefined) {
          this.history.unknown(handle);
          throw new Error(`final read of ${key} answered ${JSON.stringify(reply)}`);
        }
        this.history.ok(handle, reply.value);
        values.set(key, reply.value);
      }
    } finally {
      client.close();
    }
    return values;
  }

  /**
   * What the final values show about the writes: an acknowledged append
   * missing from a log key, a token written twice, or one never written.
   */
  checkFinalValues(values: ReadonlyMap<string, string>): string[] {
    const problems: string[] = [];
    const issued = new Map<string, WriteRecord>();
    for (const write of this.writes) issued.set(`${write.key} ${write.token}`, write);
    for (const [key, value] of values) {
      const tokens = value.split(".");
      const seen = new Set<string>();
      for (const [position, token] of tokens.entries()) {
        if (token === "" && position === 0) continue;
        const write = issued.get(`${key} ${token}`);
        if (write === undefined || write.kind !== (position === 0 ? "put" : "append"))
          problems.push(`${key}: holds ${JSON.stringify(token)}, which no client wrote there`);
        else if (write.status === "not-done")
          problems.push(`${key}: holds ${token}, whose command was never sent`);
        if (seen.has(token)) problems.push(`${key}: holds ${token} twice`);
        seen.add(token);
      }
      if (!key.startsWith("log:")) continue;
      for (const write of this.writes) {
        if (write.key === key && write.status === "acknowledged" && !seen.has(write.token))
          problems.push(`${key}: the acknowledged append ${write.token} is missing`);
      }
    }
    return problems;
  }

  private async runClient(clientId: number, target: WorkloadClient, random: Prng): Promise<void> {
    const client =
      this.options.connectionOf?.(target.endpoint, this.options.replyTimeoutMs) ??
      new KvClient(target.endpoint, this.options.replyTimeoutMs);
    try {
      for (
        let count = 0;
        count < this.options.operationsPerClientMax &&
        !this.stopping &&
        !this.retiredNodes.has(target.nodeId);
      ) {
        if (!(await client.connect())) {
          await delay(reconnectPauseMs);
          continue;
        }
        count++;
        const writesOnly = this.writesOnlyNodes.has(target.nodeId);
        await this.operate(clientId, client, random, `c${clientId}n${count}`, writesOnly);
      }
    } finally {
      client.close();
    }
  }

  private async operate(
    clientId: number,
    client: KvConnection,
    random: Prng,
    token: string,
    writesOnly: boolean,
  ): Promise<void> {
    const key = this.keys[random.int(this.keys.length)]!;
    const kind = chooseKind(key, random, writesOnly);
    this.operationCount++;
    if (kind === "get") {
      await this.get(clientId, client, key);
      return;
    }
    const value = kind === "put" ? token : `.${token}`;
    const write: WriteRecord = {
      clientId,
      key,
      kind,
      token,
      callMs: Date.now(),
      returnMs: undefined,
      status: "running",
    };
    this.writes.push(write);
    const handle = this.history.call(clientId, { kind, key, value });
    const reply = kind === "put" ? await client.set(key, value) : await client.append(key, value);
    if (reply.kind === "line" && reply.line === "STORED") {
      write.status = "acknowledged";
      write.returnMs = Date.now();
      this.history.ok(handle, "");
    } else if (reply.kind === "line" && reply.line === "NOT_STORED") {
      this.anomalies.push(
        `${kind} ${key} ${token}: NOT_STORED on a key created before the workload`,
      );
      write.status = "not-done";
      this.history.fail(handle);
    } else {
      if (reply.kind === "unknown") this.countUnknown(reply.reason);
      else
        this.anomalies.push(`${kind} ${key} ${token}: unexpected reply ${JSON.stringify(reply)}`);
      write.status = "unknown";
      this.history.unknown(handle);
    }
  }

  private countUnknown(reason: string): void {
    this.unknownTimes.push(Date.now());
    this.unknownReasons.set(reason, (this.unknownReasons.get(reason) ?? 0) + 1);
  }

  private async get(clientId: number, client: KvConnection, key: string): Promise<void> {
    const handle = this.history.call(clientId, { kind: "get", key, value: "" });
    const reply = await client.get(key);
    if (reply.kind === "value" && reply.value !== undefined) {
      this.history.ok(handle, reply.value);
      return;
    }
    this.history.unknown(handle);
    if (reply.kind === "unknown") this.countUnknown(reply.reason);
    else
      this.anomalies.push(
        `get ${key}: ${JSON.stringify(reply)} on a key created before the workload`,
      );
  }
}

/** Log keys are only appended to; a client on a stale-read node only writes. */
function chooseKind(key: string, random: Prng, writesOnly: boolean): KvInput["kind"] {
  const draw = random.int(100);
  if (!writesOnly && draw < 40) return "get";
  if (key.startsWith("log:")) return "append";
  return draw % 2 === 0 ? "put" : "append";
}
