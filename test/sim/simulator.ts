// The deterministic Raft cluster simulator. One seed fixes everything: the
// cluster size, fault rates, every delay, crash, partition and client
// operation. A run is a safety phase (faults on, invariants checked after
// every step) then a liveness phase (faults off, everything restarted and
// healed) that must converge within a tick budget. The clients' history is
// then checked for linearizability.
//
// Event log legend (the last lines are shown on failure):
//   t=<tick> <node> is <role> at term <n>     role change seen in a Ready
//   t=<tick> <node> crashes (<reason>)         unsynced writes partly lost
//   t=<tick> <node> restarts                   from its durable disk
//   t=<tick> partition <a> | <b> [one-way]     links cut (a -> b only if one-way)
//   t=<tick> heal                              all links restored
//   t=<tick> conf <change>                     membership change proposed
//   t=<tick> transfer <from> -> <to>           leadership transfer started
//   t=<tick> <node> snapshots at <i>, compacts to <j>

import { ConfChangeType } from "../../src/raft/conf-change.js";
import { silentRaftLogger } from "../../src/raft/logger.js";
import { Prng } from "../../src/raft/prng.js";
import type { Message } from "../../src/raft/types.js";
import { MemraftError } from "../../src/util/errors.js";
import { checkOperations } from "../linearizability/checker.js";
import { HistoryRecorder } from "../linearizability/history.js";
import {
  type RegisterInput,
  type RegisterOutput,
  registerModel,
} from "../linearizability/register-model.js";
import { Invariants } from "./invariants.js";
import { SimNetwork } from "./network.js";
import { SimNode } from "./node.js";
import { type Command, encodeCommand } from "./state-machine.js";

export interface SimulationParameters {
  readonly seed: number;
  readonly nodeCount: number;
  readonly clientCount: number;
  readonly safetyTicks: number;
  readonly livenessTicksMax: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delayTicksMax: number;
  readonly syncDelayTicksMax: number;
  readonly crashRate: number;
  readonly partitionRate: number;
  readonly diskFailureRate: number;
  readonly snapshotRate: number;
  readonly confChangeRate: number;
  readonly transferRate: number;
  readonly readMode: "safe" | "lease";
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
}

export function deriveParameters(seed: number, scale = 1): SimulationParameters {
  const random = new Prng(seed ^ 0x5eed);
  const checkQuorum = random.chance(0.8);
  return {
    seed,
    nodeCount: random.chance(0.5) ? 3 : 5,
    clientCount: 2 + random.int(4),
    safetyTicks: Math.round((300 + random.int(300)) * scale),
    livenessTicksMax: 600,
    dropRate: random.chance(0.3) ? 0 : random.int(20) / 100,
    duplicateRate: random.int(10) / 100,
    delayTicksMax: random.int(4),
    syncDelayTicksMax: random.int(3),
    crashRate: random.int(10) / 1000,
    partitionRate: random.int(20) / 1000,
    diskFailureRate: random.int(4) / 1000,
    snapshotRate: random.int(30) / 1000,
    confChangeRate: random.int(10) / 1000,
    transferRate: random.int(10) / 1000,
    readMode: checkQuorum && random.chance(0.25) ? "lease" : "safe",
    preVote: random.chance(0.85),
    checkQuorum,
  };
}

export function describeParameters(p: SimulationParameters): string {
  return (
    `sim SEED=${p.seed} nodes=${p.nodeCount} clients=${p.clientCount} safetyTicks=${p.safetyTicks} ` +
    `livenessTicksMax=${p.livenessTicksMax} drop=${p.dropRate} dup=${p.duplicateRate} delayMax=${p.delayTicksMax} ` +
    `syncDelayMax=${p.syncDelayTicksMax} crash=${p.crashRate} partition=${p.partitionRate} ` +
    `diskFailure=${p.diskFailureRate} snapshot=${p.snapshotRate} confChange=${p.confChangeRate} ` +
    `transfer=${p.transferRate} readMode=${p.readMode} preVote=${p.preVote} checkQuorum=${p.checkQuorum}`
  );
}

export interface SimulationResult {
  readonly ok: boolean;
  /** First line: every parameter; then the failure and the last events. */
  readonly report: string;
  readonly operations: number;
  readonly ticks: number;
}

interface PendingOperation {
  readonly handle: number;
  readonly seq: number;
  readonly deadline: number;
  readonly context: number;
}

const keys = ["a", "b", "c"];
const operationTimeoutTicks = 60;

export class Simulation {
  readonly random: Prng;
  readonly invariants = new Invariants();
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly history = new HistoryRecorder<RegisterInput, RegisterOutput>();
  private readonly events: string[] = [];
  private readonly pending = new Map<number, PendingOperation>();
  private readonly leaderGuess = new Map<number, number>();
  private readonly clientSeq = new Map<number, number>();
  private readonly contextClient = new Map<number, number>();
  private nextContext = 1;
  now = 0;
  operationCount = 0;
  faultsOn = true;

  constructor(readonly parameters: SimulationParameters) {
    this.random = new Prng(parameters.seed);
    this.network = new SimNetwork(this.random, {
      dropRate: parameters.dropRate,
      duplicateRate: parameters.duplicateRate,
      delayTicksMax: parameters.delayTicksMax,
    });
    const voters = Array.from({ length: parameters.nodeCount }, (_, i) => i + 1);
    for (const id of voters) {
      const node = new SimNode(
        id,
        {
          groupId: 7,
          random: new Prng(parameters.seed * 31 + id),
          logger: silentRaftLogger,
          preVote: parameters.preVote,
          checkQuorum: parameters.checkQuorum,
          readMode: parameters.readMode,
          messageBytesMax: 512,
          inflightMessagesMax: 4,
          snapshotChunkBytes: 64,
        },
        { voters, learners: [], votersOutgoing: [] },
        this.invariants,
        {
          send: (message) => this.network.send(this.now, message),
          proposalApplied: (command, applied) => this.completeWrite(command, applied),
          readServed: (context, value) => this.completeRead(context, value),
          event: (line) => this.event(line),
        },
      );
      node.start();
      this.nodes.push(node);
    }
  }

  run(): SimulationResult {
    try {
      for (let i = 0; i < this.parameters.safetyTicks; i++) this.step();
      this.faultsOn = false;
      this.healEverything();
      const converged = this.runLiveness();
      if (!converged)
        return this.result(
          false,
          `liveness: no convergence within ${this.parameters.livenessTicksMax} ticks`,
        );
      const verdict = checkOperations(registerModel, this.history.operations(), {
        timeoutMs: 30_000,
      });
      if (verdict.verdict !== "linearizable")
        return this.result(false, `history ${verdict.verdict}:\n${verdict.explanation}`);
      return this.result(true, "ok");
    } catch (error) {
      return this.result(
        false,
        `at t=${this.now}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }

  private result(ok: boolean, outcome: string): SimulationResult {
    const report = [
      describeParameters(this.parameters),
      `outcome: ${outcome}`,
      `stats: t=${this.now} ops=${this.operationCount} sent=${this.network.sentCount} dropped=${this.network.droppedCount} ${this.invariants.describe()}`,
      ...(ok ? [] : ["last events:", ...this.events.slice(-60)]),
    ].join("\n");
    return { ok, report, operations: this.operationCount, ticks: this.now };
  }

  step(): void {
    this.now++;
    if (this.faultsOn) this.nemesis();
    for (const message of this.network.deliverDue(this.now)) this.deliver(message);
    for (const node of this.nodes) node.raw?.tick();
    if (this.faultsOn) this.clients();
    this.expireOperations();
    this.processAll();
  }

  private processAll(): void {
    for (const node of this.nodes) {
      node.completeSync(this.now, this.random);
      node.processReady(this.now, this.parameters.syncDelayTicksMax, this.random);
    }
  }

  private deliver(message: Message): void {
    const node = this.nodes[message.to - 1];
    if (node?.raw === undefined) return;
    node.raw.step(message);
  }

  private event(line: string): void {
    this.events.push(`t=${this.now} ${line}`);
    if (this.events.length > 400) this.events.splice(0, 200);
  }

  // ---- faults -----------------------------------------------------------

  private nemesis(): void {
    const p = this.parameters;
    const random = this.random;
    if (random.chance(p.partitionRate)) this.partition();
    if (random.chance(p.partitionRate * 1.5)) {
      this.network.heal();
      this.event("heal");
    }
    if (random.chance(p.crashRate)) {
      const node = this.pick(this.nodes.filter((n) => n.up));
      node?.crash(random, "nemesis");
    }
    if (random.chance(p.crashRate * 4)) this.restartOne();
    if (random.chance(p.diskFailureRate)) {
      const leader = this.leader();
      if (leader !== undefined) leader.disk.failNextSync = true;
    }
    if (random.chance(p.snapshotRate))
      this.pick(this.nodes.filter((n) => n.up))?.snapshotAndCompact(random.int(6));
    if (random.chance(p.confChangeRate)) this.changeMembership();
    if (random.chance(p.transferRate)) this.transfer();
  }

  private partition(): void {
    const ids = this.nodes.map((n) => n.id);
    const leader = this.leader();
    // Half the time cut the leader off alone: the stale-read trap.
    const sideA =
      leader !== undefined && this.random.chance(0.5)
        ? [leader.id]
        : ids.filter(() => this.random.chance(0.5));
    const sideB = ids.filter((id) => !sideA.includes(id));
    if (sideA.length === 0 || sideB.length === 0) return;
    const oneWay = this.random.chance(0.3);
    this.network.partition(sideA, sideB, oneWay);
    this.event(`partition ${sideA} | ${sideB}${oneWay ? " one-way" : ""}`);
  }

  private restartOne(): void {
    const node = this.pick(this.nodes.filter((n) => !n.up));
    if (node === undefined) return;
    node.start();
    this.event(`${node.id} restarts`);
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const conf = leader.raw!.raft.conf;
    const outsiders = this.nodes
      .map((n) => n.id)
      .filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
    let change: { type: ConfChangeType; nodeId: number } | undefined;
    const learner = conf.learners[0];
    if (learner !== undefined) change = { type: ConfChangeType.addVoter, nodeId: learner };
    else if (outsiders.length > 0)
      change = { type: ConfChangeType.addLearner, nodeId: outsiders[0]! };
    else if (conf.voters.length >= 3)
      change = { type: ConfChangeType.removeNode, nodeId: this.pick(conf.voters)! };
    if (change === undefined) return;
    try {
      leader.raw!.proposeConfChange([change]);
      this.event(
        `conf ${change.type === 1 ? "add-voter" : change.type === 2 ? "add-learner" : "remove"} ${change.nodeId} via ${leader.id}`,
      );
    } catch (error) {
      if (!MemraftError.is(error)) throw error;
    }
  }

  private transfer(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const target = this.pick(leader.raw!.raft.conf.voters.filter((id) => id !== leader.id));
    if (target === undefined) return;
    leader.raw!.transferLeadership(target);
    this.event(`transfer ${leader.id} -> ${target}`);
  }

  private healEverything(): void {
    this.network.heal();
    this.network.faults.dropRate = 0;
    this.network.faults.duplicateRate = 0;
    for (const node of this.nodes) {
      node.disk.failNextSync = false;
      if (!node.up) {
        node.start();
        this.event(`${node.id} restarts`);
      }
    }
    this.event("liveness phase: faults off");
  }

  /** Every member applied the leader's commit and a fresh write completes. */
  private runLiveness(): boolean {
    const deadline = this.now + this.parameters.livenessTicksMax;
    let probe: number | undefined;
    while (this.now < deadline) {
      this.step();
      const leader = this.leader();
      if (leader === undefined) continue;
      if (probe === undefined) {
        probe = this.submit(0, leader, { kind: "write", key: "a" })
          ? this.clientSeq.get(0)!
          : undefined;
        continue;
      }
      if (this.pending.has(0)) continue;
      const members = this.nodes.filter((n) => {
        const conf = leader.raw!.raft.conf;
        return conf.voters.includes(n.id) || conf.learners.includes(n.id);
      });
      const commit = leader.raw!.raft.log.committed;
      if (
        members.every((n) => n.raw !== undefined && n.raw.raft.log.applied === commit) &&
        this.pending.size === 0
      ) {
        return true;
      }
    }
    return false;
  }

  // ---- clients ------------------------------------------------------------

  private clients(): void {
    for (let client = 0; client < this.parameters.clientCount; client++) {
      if (this.pending.has(client) || !this.random.chance(0.3)) continue;
      const guessed = this.leaderGuess.get(client);
      const target =
        guessed === undefined || this.random.chance(0.3)
          ? this.random.int(this.nodes.length) + 1
          : guessed;
      const guess = this.nodes[target - 1]!;
      const roll = this.random.int(10);
      const key = this.pick(keys)!;
      this.submit(
        client,
        guess,
        roll < 4 ? { kind: "read", key } : roll < 8 ? { kind: "write", key } : { kind: "cas", key },
      );
    }
  }

  /** Starts one operation; false when the node refused it at once (no effect). */
  private submit(
    client: number,
    node: SimNode,
    what: { kind: "read" | "write" | "cas"; key: string },
  ): boolean {
    const seq = (this.clientSeq.get(client) ?? 0) + 1;
    this.clientSeq.set(client, seq);
    const value = client * 1_000_000 + seq;
    const from = Math.max(0, value - 1 - this.random.int(2) * 1_000_000);
    const input: RegisterInput =
      what.kind === "read"
        ? { kind: "read", key: what.key }
        : what.kind === "write"
          ? { kind: "write", key: what.key, value }
          : { kind: "cas", key: what.key, from: this.lastValue(what.key) ?? from, to: value };
    const handle = this.history.call(client, input);
    this.operationCount++;
    try {
      if (node.raw === undefined) throw new MemraftError("ERR_CLOSED", "node down");
      const context = this.nextContext++;
      if (input.kind === "read") {
        this.contextClient.set(context, client);
        node.readIndex(context, input.key);
      } else {
        const command: Command =
          input.kind === "write"
            ? { client, seq, kind: "write", key: input.key, value: input.value }
            : { client, seq, kind: "cas", key: input.key, from: input.from, to: input.to };
        node.propose(command, encodeCommand(command));
      }
      this.pending.set(client, {
        handle,
        seq,
        deadline: this.now + operationTimeoutTicks,
        context,
      });
      return true;
    } catch (error) {
      if (!MemraftError.is(error)) throw error;
      this.history.fail(handle);
      const lead = Number(error.context["lead"] ?? 0);
      this.leaderGuess.set(client, lead > 0 ? lead : this.random.int(this.nodes.length) + 1);
      return false;
    }
  }

  private lastValue(key: string): number | undefined {
    const values = this.nodes.map((n) => n.machine.values.get(key)).filter((v) => v !== undefined);
    return values.length === 0 ? undefined : this.pick(values);
  }

  private completeWrite(command: Command, applied: boolean): void {
    const pending = this.pending.get(command.client);
    if (pending === undefined || pending.seq !== command.seq) return;
    this.pending.delete(command.client);
    this.history.ok(pending.handle, { kind: "done", applied });
  }

  private completeRead(context: number, value: number | null): void {
    const client = this.contextClient.get(context);
    if (client === undefined) return;
    this.contextClient.delete(context);
    const pending = this.pending.get(client);
    if (pending === undefined || pending.context !== context) return;
    this.pending.delete(client);
    this.history.ok(pending.handle, { kind: "read", value });
  }

  private expireOperations(): void {
    for (const [client, pending] of this.pending) {
      if (pending.deadline > this.now) continue;
      this.pending.delete(client);
      this.history.unknown(pending.handle);
      this.leaderGuess.set(client, this.random.int(this.nodes.length) + 1);
    }
  }

  // ---- helpers --------------------------------------------------------------

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes) {
      const raft = node.raw?.raft;
      if (raft?.role === "leader" && (best === undefined || raft.term > best.raw!.raft.term))
        best = node;
    }
    return best;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.random.int(items.length)];
  }
}

export function simulate(seed: number, scale = 1): SimulationResult {
  return new Simulation(deriveParameters(seed, scale)).run();
}
