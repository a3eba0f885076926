// A hand-driven in-memory cluster for scenario and golden script tests: the
// test decides when Readies are processed and which messages are delivered.
// Storage is synchronous and durable at once; `restart` reloads from it.
// Every Ready goes through the simulator's invariant checks.

import type { RaftConfig } from "../../src/raft/config.js";
import { Prng } from "../../src/raft/prng.js";
import { describeType, type RaftStartState } from "../../src/raft/raft.js";
import { RawNode } from "../../src/raft/raw-node.js";
import {
  type ConfState,
  type Entry,
  emptyConfState,
  type HardState,
  type Message,
  type ReadState,
  type Snapshot,
} from "../../src/raft/types.js";
import { Invariants } from "../sim/invariants.js";
import { restartState } from "../sim/node.js";

export interface ClusterNode {
  readonly id: number;
  /** The configuration at index 0: the group's for an initial member, empty for a joiner. */
  readonly bootConf: ConfState;
  raw: RawNode;
  hardState: HardState;
  offset: number;
  offsetTerm: number;
  stored: Entry[];
  snapshot: Snapshot | undefined;
  applied: Entry[];
  readStates: ReadState[];
  /** Makes the next persist fail: the node "crashes" instead of acknowledging. */
  failNextWrite: boolean;
  down: boolean;
}

export type ClusterOptions = Partial<Omit<RaftConfig, "id" | "groupId" | "random" | "logger">>;

export class Cluster {
  readonly nodes = new Map<number, ClusterNode>();
  readonly invariants = new Invariants();
  queue: Message[] = [];
  readonly lines: string[] = [];
  private readonly cut = new Set<string>();

  constructor(
    private readonly options: ClusterOptions = {},
    private readonly conf: ConfState = emptyConfState,
  ) {}

  static of(count: number, options: ClusterOptions = {}): Cluster {
    const voters = Array.from({ length: count }, (_, i) => i + 1);
    const cluster = new Cluster(options, { voters, learners: [], votersOutgoing: [] });
    for (const id of voters) cluster.addNode(id);
    return cluster;
  }

  /** An initial member of the group, or with `join`, a new empty member for it. */
  addNode(id: number, options: { join?: boolean } = {}): ClusterNode {
    const join = options.join === true;
    const node: ClusterNode = {
      id,
      bootConf: join ? emptyConfState : this.conf,
      raw: this.newRaw(id, join ? RawNode.joiningState() : RawNode.bootstrapState(this.conf)),
      hardState: { term: 0, vote: 0, commit: 0 },
      offset: 0,
      offsetTerm: 0,
      stored: [],
      snapshot: undefined,
      applied: [],
      readStates: [],
      failNextWrite: false,
      down: false,
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: number): ClusterNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: number) {
    return this.node(id).raw.raft;
  }

  private newRaw(id: number, start: RaftStartState): RawNode {
    return new RawNode(
      {
        id,
        groupId: 1,
        random: new Prng(id),
        logger: { info: (line) => this.lines.push(line) },
        electionTicks: 10,
        heartbeatTicks: 1,
        ...this.options,
      },
      start,
    );
  }

  /** Restarts a node from its durable state (its in-memory state is lost). */
  restart(id: number): void {
    const node = this.node(id);
    node.down = false;
    node.raw = this.newRaw(id, restartState({ ...node, entries: node.stored }, node.bootConf));
    node.applied = node.applied.filter((entry) => entry.index <= (node.snapshot?.meta.index ?? 0));
    this.invariants.nodeRestarted(id);
  }

  stop(id: number): void {
    this.node(id).down = true;
  }

  /** Processes one Ready on each node given (all by default). */
  process(ids: readonly number[] = [...this.nodes.keys()]): void {
    for (const id of ids) {
      const node = this.node(id);
      if (node.down || !node.raw.hasReady()) continue;
      const ready = node.raw.ready();
      const raft = node.raw.raft;
      if (ready.softState?.role === "leader") this.invariants.leaderElected(raft);
      this.invariants.entriesAppended(raft, ready.entries);
      if (ready.hardState !== undefined) this.invariants.commitAdvanced(raft);
      if (node.failNextWrite) {
        node.failNextWrite = false;
        this.lines.push(`${id} disk write failed: stops without acknowledging`);
        node.down = true;
        continue;
      }
      this.persist(node, ready.snapshot, ready.entries, ready.hardState);
      this.queue.push(...ready.messages);
      for (const entry of ready.committedEntries) {
        this.invariants.entryApplied(id, entry);
        node.applied.push(entry);
      }
      node.readStates.push(...ready.readStates);
      node.raw.advance();
    }
  }

  private persist(
    node: ClusterNode,
    snapshot: Snapshot | undefined,
    entries: readonly Entry[],
    hardState: HardState | undefined,
  ): void {
    if (snapshot !== undefined) {
      node.snapshot = snapshot;
      node.offset = snapshot.meta.index;
      node.offsetTerm = snapshot.meta.term;
      node.stored = [];
      node.applied = [];
    }
    const first = entries[0];
    if (first !== undefined)
      node.stored = node.stored.filter((e) => e.index < first.index).concat(entries);
    if (hardState !== undefined) node.hardState = hardState;
  }

  /** Delivers every queued message once (those to cut links or down nodes are lost). */
  deliver(options: { drop?: (message: Message) => boolean } = {}): number {
    const messages = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const message of messages) {
      const target = this.nodes.get(message.to);
      if (target === undefined || target.down || this.cut.has(`${message.from}>${message.to}`))
        continue;
      if (options.drop?.(message)) continue;
      this.lines.push(describeMessage(message));
      target.raw.step(message);
      delivered++;
    }
    return delivered;
  }

  /** Processes and delivers until nothing moves. */
  stabilize(roundsMax = 200): void {
    for (let round = 0; round < roundsMax; round++) {
      this.process();
      if (
        this.deliver() === 0 &&
        ![...this.nodes.values()].some((n) => !n.down && n.raw.hasReady())
      )
        return;
    }
    throw new Error("cluster did not stabilize");
  }

  tick(id: number, ticks = 1): void {
    for (let i = 0; i < ticks; i++) this.node(id).raw.tick();
  }

  /**
   * Ticks the candidates and `alsoTick` (stabilizing after each round) until
   * a candidate leads; returns it. Throws after `roundsMax` rounds.
   */
  tickUntilLeader(
    candidates: readonly number[],
    roundsMax: number,
    alsoTick: readonly number[] = [],
  ): number {
    for (let round = 0; round < roundsMax; round++) {
      const leader = candidates.find((id) => this.raft(id).role === "leader");
      if (leader !== undefined) return leader;
      for (const id of [...candidates, ...alsoTick]) this.tick(id);
      this.stabilize();
    }
    throw new Error(`no leader among ${candidates} after ${roundsMax} rounds`);
  }

  /** Elects `id` (and settles everything). */
  elect(id: number): void {
    this.node(id).raw.campaign();
    this.stabilize();
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  partition(...sides: number[][]): void {
    for (const a of sides)
      for (const b of sides) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`);
      }
  }

  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  propose(id: number, text: string): number {
    return this.node(id).raw.propose(new TextEncoder().encode(text));
  }

  /** The texts applied on a node, in order (no-ops left out). */
  appliedTexts(id: number): string[] {
    return this.node(id)
      .applied.filter((entry) => entry.data.length > 0 && entry.type === 0)
      .map((entry) => new TextDecoder().decode(entry.data));
  }
}

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${describeType(message.type)} term=${message.term}`;
  switch (message.type) {
    case 1:
      return `${head} prev=${message.index}/${message.logTerm} commit=${message.commit} entries=[${message.entries.map((e) => `${e.index}/${e.term}${e.data.length > 0 ? `:${e.type === 1 ? "conf" : new TextDecoder().decode(e.data)}` : ""}`).join(" ")}]`;
    case 2:
      return `${head} index=${message.index}${message.reject ? ` reject hint=${message.rejectHint}/${message.logTermHint}` : ""}`;
    case 3:
    case 5:
      return `${head} last=${message.index}/${message.logTerm}${message.transfer ? " transfer" : ""}`;
    case 4:
    case 6:
      return `${head}${message.reject ? " reject" : ""}`;
    case 7:
      return `${head} commit=${message.commit} context=${message.context}${message.quiesce ? " quiesce" : ""}`;
    case 8:
      return `${head} context=${message.context}`;
    case 9:
      return `${head} snapshot=${message.meta.index}/${message.meta.term} bytes=${message.offset}+${message.chunk.length}/${message.totalBytes}`;
    case 10:
      return `${head} snapshot=${message.snapshotIndex} next=${message.nextOffset}`;
    case 11:
      return head;
  }
}
