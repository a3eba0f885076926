// A memraft cluster of separate processes for tests: N nodes on distinct
// loopback addresses (127.0.0.1, 127.0.0.2, …) with free ports, each
// `node bin/memraft start --config <file> --node <id> -v` in its own data
// directory under one temporary directory.
//
// The harness reads every node's JSON log lines: "node started" marks
// readiness, and the Raft core's role lines ("became leader at term 7", at
// debug level, hence -v) tell which node leads a group. It kills (SIGKILL),
// pauses (SIGSTOP), resumes (SIGCONT) and restarts nodes. Every line of a
// node's output goes to <directory>/<id>.log; the last ones are kept for
// failure messages.
//
// No stray processes: stop() kills every child and waits for it; a process
// exit handler kills any child still alive if a test never got to stop().
// Every wait has a deadline.

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReadMode } from "../../src/cluster/replicated-store.js";
import type { Endpoint } from "./kv-client.js";
import { freePorts } from "./memcached-process.js";
import { RawClient } from "./raw-client.js";
import { waitFor } from "./wait.js";

export interface ProcessClusterOptions {
  /** Nodes at the start. */
  readonly nodeCount?: number;
  /** Raft groups (cluster.groups). */
  readonly groups?: number;
  /** Voters per group; every node by default. */
  readonly replicationFactor?: number;
  /** cluster.rebalance.moves_max. */
  readonly movesMax?: number;
  readonly readMode?: ReadMode;
  /** How long a node may take from spawn to answering `version`. */
  readonly startTimeoutMs?: number;
}

export interface ClusterNode extends Endpoint {
  readonly id: string;
  readonly peerPort: number;
  readonly dataDir: string;
}

export type Role = "leader" | "follower" | "candidate" | "pre-candidate";

export interface RoleState {
  readonly role: Role;
  readonly term: number;
  /** The log line's time (ms since the epoch, this machine's clock). */
  readonly timeMs: number;
}

export interface LeaderInfo {
  readonly node: ClusterNode;
  readonly term: number;
  /** When the node logged that it became leader (ms since the epoch). */
  readonly sinceMs: number;
}

/** Lines of output kept per node for failure messages. */
const outputLinesMax = 60;
/** Lines a watch keeps per node. */
const watchedLinesMax = 1000;
const binary = fileURLToPath(new URL("../../../bin/memraft", import.meta.url));
const roleLine = /became (leader|follower|candidate|pre-candidate) at term (\d+)/;

/** Children of every cluster in this process, killed on exit if still alive. */
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

/** The lines matching a pattern, per node, from when the watch was set. */
export class LogWatch {
  private readonly matched = new Map<string, string[]>();

  constructor(private readonly pattern: RegExp) {}

  lines(id: string): readonly string[] {
    return this.matched.get(id) ?? [];
  }

  take(id: string, line: string): void {
    if (!this.pattern.test(line)) return;
    const lines = this.matched.get(id) ?? [];
    if (lines.length < watchedLinesMax) lines.push(line);
    this.matched.set(id, lines);
  }
}

/** One incarnation of a node's process. */
class NodeProcess {
  readonly exited: Promise<void>;
  private started = false;
  private exitText: string | undefined;
  private pending = "";

  constructor(
    readonly child: ChildProcess,
    private readonly onLine: (line: string) => void,
  ) {
    liveChildren.add(child);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => this.take(chunk));
    child.stderr?.on("data", (chunk: string) => this.take(chunk));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        liveChildren.delete(child);
        this.exitText = signal === null ? `exit code ${code}` : `signal ${signal}`;
        resolve();
      });
    });
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** Undefined while running; how it ended otherwise. */
  get exit(): string | undefined {
    return this.exitText;
  }

  private take(chunk: string): void {
    this.pending += chunk;
    const lines = this.pending.split("\n");
    this.pending = lines.pop()!;
    for (const line of lines) {
      if (line.includes('"msg":"node started"')) this.started = true;
      this.onLine(line);
    }
  }
}

export class ProcessCluster {
  private readonly processes = new Map<string, NodeProcess>();
  private readonly roles = new Map<string, RoleState>();
  private readonly output = new Map<string, string[]>();
  private readonly watches: LogWatch[] = [];
  /** Every line of every incarnation of each node, in <directory>/<id>.log. */
  private readonly logFiles = new Map<string, WriteStream>();
  private stopped = false;
  /** Marked draining in the cluster file. */
  private readonly draining = new Set<string>();
  /** Deleted from the cluster file (their processes may still run until stopped). */
  private readonly deleted = new Set<string>();

  private constructor(
    private readonly members: ClusterNode[],
    private readonly directory: string,
    readonly configPath: string,
    private readonly options: Required<ProcessClusterOptions>,
  ) {}

  /** Every node this cluster ever had, in the order they were added. */
  get nodes(): readonly ClusterNode[] {
    return this.members;
  }

  /** Writes the cluster file and starts every node; resolves when all answer. */
  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const settings: Required<ProcessClusterOptions> = {
      nodeCount: options.nodeCount ?? 3,
      groups: options.groups ?? 1,
      replicationFactor: options.replicationFactor ?? options.nodeCount ?? 3,
      movesMax: options.movesMax ?? 4,
      readMode: options.readMode ?? "linearizable",
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    };
    const directory = mkdtempSync(join(tmpdir(), "memraft-cluster-"));
    const nodes: ClusterNode[] = [];
    for (let index = 0; index < settings.nodeCount; index++) {
      const host = `127.0.0.${index + 1}`;
      const id = `n${index + 1}`;
      const [port, peerPort] = (await freePorts(host, 2)) as [number, number];
      nodes.push({ id, host, port, peerPort, dataDir: join(directory, id) });
    }
    const configPath = join(directory, "cluster.yaml");
    const cluster = new ProcessCluster(nodes, directory, configPath, settings);
    cluster.writeConfig();
    try {
      await Promise.all(nodes.map((node) => cluster.startNode(node.id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /**
   * A new node on the next loopback address, added to the cluster file
   * (the operator's first step to grow a cluster); not started.
   */
  async addNode(): Promise<ClusterNode> {
    const index = this.members.length;
    const host = `127.0.0.${index + 1}`;
    const id = `n${index + 1}`;
    const [port, peerPort] = (await freePorts(host, 2)) as [number, number];
    const node: ClusterNode = { id, host, port, peerPort, dataDir: join(this.directory, id) };
    this.members.push(node);
    this.writeConfig();
    return node;
  }

  /** Marks a node draining in the cluster file. */
  setDraining(id: string): void {
    this.node(id);
    this.draining.add(id);
    this.writeConfig();
  }

  /** Deletes a node from the cluster file. */
  deleteNode(id: string): void {
    this.node(id);
    this.deleted.add(id);
    this.writeConfig();
  }

  /** Puts a node deleted from the cluster file back. */
  restoreNode(id: string): void {
    this.deleted.delete(id);
    this.writeConfig();
  }

  /** The cluster file's text now. */
  configText(): string {
    return clusterFile(
      this.members.filter((node) => !this.deleted.has(node.id)),
      this.options,
      this.draining,
    );
  }

  node(id: string): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) throw new Error(`no node ${id} in this cluster`);
    return node;
  }

  isRunning(id: string): boolean {
    const incarnation = this.processes.get(id);
    return incarnation !== undefined && incarnation.exit === undefined;
  }

  /**
   * Starts (or restarts) a node on its data directory and waits until it
   * answers `version`. `readMode` overrides the cluster's for this run.
   */
  async startNode(id: string, overrides: { readMode?: ReadMode } = {}): Promise<void> {
    if (this.stopped) throw new Error("cluster stopped");
    if (this.isRunning(id)) throw new Error(`node ${id} is already running`);
    const node = this.node(id);
    const readMode = overrides.readMode ?? this.options.readMode;
    const child = spawn(
      process.execPath,
      [binary, "start", "--config", this.configPath, "--node", id, "-v", "--read-mode", readMode],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    for (const key of this.roles.keys())
      if (key.startsWith(roleKey(id, ""))) this.roles.delete(key);
    const incarnation = new NodeProcess(child, (line) => this.record(id, line));
    this.processes.set(id, incarnation);
    await waitFor(
      `node ${id} to log "node started"`,
      () => {
        if (incarnation.exit !== undefined)
          throw new Error(
            `node ${id} ended (${incarnation.exit}) while starting:\n${this.tail(id)}`,
          );
        return incarnation.isStarted;
      },
      this.options.startTimeoutMs,
      20,
    );
    await answersVersion(node, this.options.startTimeoutMs);
  }

  private writeConfig(): void {
    writeFileSync(this.configPath, this.configText());
  }

  /** kill -9: the process ends at once, with whatever it had not written. */
  async kill(id: string): Promise<void> {
    await this.signalAndWait(id, "SIGKILL");
  }

  /** A graceful stop (SIGTERM), waiting for the process to end. */
  async terminate(id: string): Promise<void> {
    await this.signalAndWait(id, "SIGTERM");
  }

  /** SIGHUP: the node applies its cluster file (the harness's, as it is now). */
  hangUp(id: string): void {
    this.runningProcess(id).child.kill("SIGHUP");
  }

  /** SIGSTOP: the process stays, silent, as if partitioned away. */
  pause(id: string): void {
    this.runningProcess(id).child.kill("SIGSTOP");
  }

  resume(id: string): void {
    this.runningProcess(id).child.kill("SIGCONT");
  }

  /**
   * The leader of `group` by the nodes' own log lines: the running node that
   * last said it became leader, at a term no other running node has passed.
   * Waits until there is one.
   */
  async leader(options: { group?: number; timeoutMs?: number } = {}): Promise<LeaderInfo> {
    let found: LeaderInfo | undefined;
    await waitFor(
      "a leader",
      () => {
        found = this.currentLeader(options.group ?? 0);
        return found !== undefined;
      },
      options.timeoutMs ?? 20_000,
      20,
    );
    return found!;
  }

  /** Collects the lines matching `pattern` that nodes write from now on. */
  watchLog(pattern: RegExp): LogWatch {
    const watch = new LogWatch(pattern);
    this.watches.push(watch);
    return watch;
  }

  /** What a running node last said of its role in `group`, if anything. */
  role(id: string, group = 0): RoleState | undefined {
    return this.isRunning(id) ? this.roles.get(roleKey(id, group)) : undefined;
  }

  /** The last lines of every node's output, for a failure message. */
  describe(): string {
    return this.nodes
      .map((node) => `--- ${node.id} (${node.host}:${node.port})\n${this.tail(node.id)}`)
      .join("\n");
  }

  /**
   * Kills every node and waits for each to end; removes the data and logs
   * unless `keepFiles` (a failed test's evidence), and says where they are.
   */
  async stop(options: { keepFiles?: boolean } = {}): Promise<string | undefined> {
    this.stopped = true;
    await Promise.all(
      [...this.processes.keys()].map(async (id) => {
        const incarnation = this.processes.get(id)!;
        if (incarnation.exit === undefined) {
          incarnation.child.kill("SIGCONT");
          incarnation.child.kill("SIGKILL");
        }
        await incarnation.exited;
      }),
    );
    await Promise.all(
      [...this.logFiles.values()].map(
        (file) => new Promise<void>((resolve) => file.end(() => resolve())),
      ),
    );
    if (options.keepFiles === true) return this.directory;
    rmSync(this.directory, { recursive: true, force: true });
    return undefined;
  }

  private currentLeader(group: number): LeaderInfo | undefined {
    let best: { id: string; state: RoleState } | undefined;
    let termMax = 0;
    for (const node of this.nodes) {
      if (!this.isRunning(node.id)) continue;
      const state = this.roles.get(roleKey(node.id, group));
      if (state === undefined) continue;
      termMax = Math.max(termMax, state.term);
      if (state.role === "leader" && (best === undefined || state.term > best.state.term))
        best = { id: node.id, state };
    }
    if (best === undefined || best.state.term < termMax) return undefined;
    return { node: this.node(best.id), term: best.state.term, sinceMs: best.state.timeMs };
  }

  private record(id: string, line: string): void {
    let file = this.logFiles.get(id);
    if (file === undefined) {
      file = createWriteStream(join(this.directory, `${id}.log`), { flags: "a" });
      this.logFiles.set(id, file);
    }
    file.write(`${line}\n`);
    for (const watch of this.watches) watch.take(id, line);
    let lines = this.output.get(id);
    if (lines === undefined) {
      lines = [];
      this.output.set(id, lines);
    }
    lines.push(line);
    if (lines.length > outputLinesMax) lines.shift();
    const match = roleLine.exec(line);
    if (match === null) return;
    let fields: { group?: unknown; time?: unknown };
    try {
      fields = JSON.parse(line) as typeof fields;
    } catch {
      return;
    }
    this.roles.set(roleKey(id, Number(fields.group ?? 0)), {
      role: match[1] as Role,
      term: Number(match[2]),
      timeMs: Number(fields.time),
    });
  }

  private tail(id: string): string {
    const exit = this.processes.get(id)?.exit;
    const lines = this.output.get(id) ?? [];
    return `${lines.join("\n")}${exit === undefined ? "" : `\n(ended: ${exit})`}`;
  }

  private runningProcess(id: string): NodeProcess {
    const incarnation = this.processes.get(id);
    if (incarnation === undefined || incarnation.exit !== undefined)
      throw new Error(`node ${id} is not running`);
    return incarnation;
  }

  private async signalAndWait(id: string, signal: NodeJS.Signals): Promise<void> {
    const incarnation = this.runningProcess(id);
    // A paused process would not act on SIGTERM: let it run to do so.
    incarnation.child.kill("SIGCONT");
    incarnation.child.kill(signal);
    const timeoutMs = 10_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([incarnation.exited, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      incarnation.child.kill("SIGKILL");
      await incarnation.exited;
      throw new Error(`node ${id} did not end within ${timeoutMs} ms of ${signal}`);
    }
  }
}

function roleKey(id: string, group: number | ""): string {
  return `${id}/${group}`;
}

function clusterFile(
  nodes: readonly ClusterNode[],
  options: Required<ProcessClusterOptions>,
  draining: ReadonlySet<string>,
): string {
  const entries = nodes.map(
    (node) =>
      `  - id: ${node.id}\n    client: ${node.host}:${node.port}\n    peer: ${node.host}:${node.peerPort}\n    data_dir: ${node.dataDir}\n${draining.has(node.id) ? "    draining: true\n" : ""}`,
  );
  return `version: 1\ncluster:\n  name: test\n  groups: ${options.groups}\n  replication_factor: ${options.replicationFactor}\n  rebalance:\n    moves_max: ${options.movesMax}\nnodes:\n${entries.join("")}`;
}

async function answersVersion(endpoint: Endpoint, timeoutMs: number): Promise<void> {
  const client = await RawClient.connect(endpoint.port, endpoint.host);
  try {
    await client.write("version\r\n");
    await client.until((bytes) => bytes.toString("latin1").startsWith("VERSION "), timeoutMs);
    if (!client.bytes.toString("latin1").startsWith("VERSION "))
      throw new Error(
        `${endpoint.host}:${endpoint.port} closed the connection instead of answering version`,
      );
  } finally {
    client.close();
  }
}
