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
//   t=<tick> conf <changes> via <leader>       membership change proposed (one entry)
//   t=<tick> <node> joins empty                a member created for the group on a new node
//   t=<tick> <node> is destroyed (...)         a removed member's data is deleted
//   t=<tick> transfer <from> -> <to>           leadership transfer started
//   t=<tick> <node> snapshots at <i>, compacts to <j>
//   t=<tick> <node> woken: leader <l> seems down   the failure detector woke a quiet member
//
// Quiet groups (RaftConfig.quiesce): a quiet follower never times out, so
// the simulator plays the node-level failure detector the real node has: it
// wakes a quiet member whose leader is down or cut off from it, and, while
// faults are on, wakes members for no reason now and then (a detector can
// be wrong; being woken must never hurt safety).

import { type ConfChange, ConfChangeType, describeConfState } from "../../src/raft/conf-change.js";
import { silentRaftLogger } from "../../src/raft/logger.js";
import { Prng } from "../../src/raft/prng.js";
import { allVoters, isJoint } from "../../src/raft/quorum.js";
import type { RawNode } from "../../src/raft/raw-node.js";
import { type ConfState, emptyConfState, type Message } from "../../src/raft/types.js";
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
  /** Ids after the initial voters, each of which may join the group once, empty. */
  readonly spareCount: number;
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
  readonly quiesce: boolean;
  readonly falseSuspicionRate: number;
  /** Leaders send appends before their own sync (raw-node.ts canSendBeforeSave). */
  readonly sendBeforeSave: boolean;
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
    confChangeRate: random.int(25) / 1000,
    transferRate: random.int(10) / 1000,
    readMode: checkQuorum && random.chance(0.25) ? "lease" : "safe",
    preVote: random.chance(0.85),
    checkQuorum,
    spareCount: 1 + random.int(2),
    quiesce: random.chance(0.75),
    falseSuspicionRate: random.int(10) / 1000,
    sendBeforeSave: random.chance(0.75),
  };
}

export function describeParameters(p: SimulationParameters): string {
  return (
    `sim SEED=${p.seed} nodes=${p.nodeCount}+${p.spareCount} clients=${p.clientCount} safetyTicks=${p.safetyTicks} ` +
    `livenessTicksMax=${p.livenessTicksMax} drop=${p.dropRate} dup=${p.duplicateRate} delayMax=${p.delayTicksMax} ` +
    `syncDelayMax=${p.syncDelayTicksMax} crash=${p.crashRate} partition=${p.partitionRate} ` +
    `diskFailure=${p.diskFailureRate} snapshot=${p.snapshotRate} confChange=${p.confChangeRate} ` +
    `transfer=${p.transferRate} readMode=${p.readMode} preVote=${p.preVote} checkQuorum=${p.checkQuorum} ` +
    `quiesce=${p.quiesce} falseSuspicion=${p.falseSuspicionRate} sendBeforeSave=${p.sendBeforeSave}`
  );
}

export interface SimulationResult {
  readonly ok: boolean;
  /** First line: every parameter; then the failure and the last events. */
  readonly report: string;
  readonly operations: number;
  readonly ticks: number;
  readonly quietTicks: number;
  readonly detectorWakes: number;
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
  /** Member-ticks spent quiet, and wakes by the failure detector: quiescence is exercised. */
  quietTicks = 0;
  detectorWakes = 0;
  faultsOn = true;
  private clientsIdleUntil = 0;

  constructor(readonly parameters: SimulationParameters) {
    this.random = new Prng(parameters.seed);
    this.network = new SimNetwork(this.random, {
      dropRate: parameters.dropRate,
      duplicateRate: parameters.duplicateRate,
      delayTicksMax: parameters.delayTicksMax,
    });
    const voters = Array.from({ length: parameters.nodeCount }, (_, i) => i + 1);
    const initial: ConfState = { voters, learners: [], votersOutgoing: [] };
    for (let id = 1; id <= parameters.nodeCount + parameters.spareCount; id++) {
      const node = new SimNode(
        id,
        {
          groupId: 7,
          random: new Prng(parameters.seed * 31 + id),
          logger: silentRaftLogger,
          preVote: parameters.preVote,
          checkQuorum: parameters.checkQuorum,
          readMode: parameters.readMode,
          quiesce: parameters.quiesce,
          messageBytesMax: 512,
          inflightMessagesMax: 4,
          snapshotChunkBytes: 64,
        },
        id <= parameters.nodeCount ? initial : emptyConfState,
        this.invariants,
        {
          send: (message) => this.network.send(this.now, message),
          proposalApplied: (command, applied) => this.completeWrite(command, applied),
          readServed: (context, value) => this.completeRead(context, value),
          event: (line) => this.event(line),
        },
        parameters.sendBeforeSave,
      );
      if (id <= parameters.nodeCount) node.start();
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
      `stats: t=${this.now} ops=${this.operationCount} sent=${this.network.sentCount} dropped=${this.network.droppedCount} ` +
        `quietTicks=${this.quietTicks} detectorWakes=${this.detectorWakes} ${this.invariants.describe()}`,
      ...(ok
        ? []
        : [
            "members at the end:",
            ...this.memberStates(),
            "last events:",
            ...this.events.slice(-60),
          ]),
    ].join("\n");
    return {
      ok,
      report,
      operations: this.operationCount,
      ticks: this.now,
      quietTicks: this.quietTicks,
      detectorWakes: this.detectorWakes,
    };
  }

  /** Each member's view, for a failure report: who thinks what, and why nothing moves. */
  private memberStates(): string[] {
    return this.nodes
      .filter((node) => node.created)
      .map((node) => {
        const raw = node.raw;
        if (raw === undefined) return `${node.id}: ${node.destroyed ? "destroyed" : "down"}`;
        const status = raw.status();
        const { term, vote, commit } = status.hardState;
        return (
          `${node.id}: ${status.role} term=${term} vote=${vote} lead=${status.lead} ` +
          `conf=${describeConfState(status.conf)} last=${status.lastIndex}/${raw.raft.log.lastTerm()} ` +
          `commit=${commit} applied=${status.applied} quiet=${status.quiesced}`
        );
      });
  }

  step(): void {
    this.now++;
    if (this.faultsOn) this.nemesis();
    for (const message of this.network.deliverDue(this.now)) this.deliver(message);
    this.detectFailures();
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

  /** The failure detector: see the header. */
  private detectFailures(): void {
    for (const node of this.nodes) {
      const raw = node.raw;
      if (raw === undefined || !raw.quiesced) continue;
      this.quietTicks++;
      const lead = raw.raft.lead;
      const leader = this.nodes[lead - 1];
      const down = leader === undefined || !leader.up || this.network.isCut(lead, node.id);
      if (down || (this.faultsOn && this.random.chance(this.parameters.falseSuspicionRate))) {
        raw.wake();
        this.detectorWakes++;
        this.event(`${node.id} woken: leader ${lead} seems down`);
      }
    }
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
    const ids = this.nodes.filter((n) => n.created).map((n) => n.id);
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
    const node = this.pick(this.restartable());
    if (node === undefined) return;
    node.start();
    this.event(`${node.id} restarts`);
  }

  /** Created, not running, not destroyed. */
  private restartable(): SimNode[] {
    return this.nodes.filter((n) => n.created && !n.up && !n.destroyed);
  }

  /**
   * One membership step on the leader, as a rebalancer would take it: add a
   * spare id as a learner (its member joins empty), promote a learner alone
   * or together with removing a voter (a joint change; the voter may be the
   * leader), remove a voter alone, or delete a removed member's data.
   */
  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const conf = settledConf(leader.raw!, this.nodes);
    if (conf === undefined) return;
    this.destroyRemoved(conf, 0.5);
    const learner = conf.learners[0];
    const spare = this.nodes.find((n) => !this.everMember(n.id) && !n.destroyed);
    let changes: ConfChange[] | undefined;
    const roll = this.random.int(3);
    if (learner !== undefined && roll === 0) {
      changes = [{ type: ConfChangeType.addVoter, nodeId: learner }];
    } else if (learner !== undefined) {
      const leaving = this.pick(conf.voters)!;
      changes = [
        { type: ConfChangeType.addVoter, nodeId: learner },
        { type: ConfChangeType.removeNode, nodeId: leaving },
      ];
    } else if (spare !== undefined && roll < 2) {
      changes = [{ type: ConfChangeType.addLearner, nodeId: spare.id }];
    } else if (conf.voters.length >= 3) {
      changes = [{ type: ConfChangeType.removeNode, nodeId: this.pick(conf.voters)! }];
    }
    if (changes === undefined) return;
    try {
      leader.raw!.proposeConfChange(changes);
    } catch (error) {
      if (!MemraftError.is(error)) throw error;
      return;
    }
    const names = ["", "add-voter", "add-learner", "remove"];
    this.event(
      `conf ${changes.map((c) => `${names[c.type]} ${c.nodeId}`).join(", ")} via ${leader.id}`,
    );
    if (spare !== undefined && changes[0]!.nodeId === spare.id && !spare.created) {
      spare.start();
      this.event(`${spare.id} joins empty`);
    }
  }

  /** Whether `id` was ever in a configuration some node applied (ids are never reused). */
  private everMember(id: number): boolean {
    if (id <= this.parameters.nodeCount) return true;
    return this.nodes.some(
      (n) =>
        n.conf.voters.includes(id) ||
        n.conf.learners.includes(id) ||
        n.conf.votersOutgoing.includes(id),
    );
  }

  /** Deletes (each with probability `p`) the members a settled configuration no longer holds. */
  private destroyRemoved(conf: ConfState, p: number): void {
    for (const node of this.nodes) {
      if (node.destroyed || !node.created || isMember(conf, node.id)) continue;
      if (this.random.chance(p)) node.destroy();
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
    for (const node of this.nodes) node.disk.failNextSync = false;
    for (const node of this.restartable()) {
      node.start();
      this.event(`${node.id} restarts`);
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
      const conf = settledConf(leader.raw!, this.nodes);
      if (conf === undefined) continue;
      // The owner deletes removed members; left running they would only disrupt.
      this.destroyRemoved(conf, 1);
      const members = this.nodes.filter((n) => isMember(conf, n.id));
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
    // Quiet spells let the group go idle (and quiet) while faults go on.
    if (this.now < this.clientsIdleUntil) return;
    if (this.random.chance(0.01)) this.clientsIdleUntil = this.now + 20 + this.random.int(100);
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

function isMember(conf: ConfState, id: number): boolean {
  return allVoters(conf).includes(id) || conf.learners.includes(id);
}

/**
 * The leader's configuration when it is certainly the group's latest: no
 * member of it has a higher term (a removed node may, campaigning alone),
 * the leader has committed in its term and applied everything committed,
 * and no change is pending or half done (joint).
 */
function settledConf(leader: RawNode, nodes: readonly SimNode[]): ConfState | undefined {
  const raft = leader.raft;
  const conf = raft.conf;
  if (isJoint(conf) || raft.confChangePending()) return undefined;
  // A leader that applied its own removal leads on until the new voters know
  // (Raft handover): the configuration settles under a leader that is in it.
  if (!allVoters(conf).includes(raft.id)) return undefined;
  // A leader cut off since an older term may still think it leads; a member
  // that moved on may be down right now, so its durable term counts too
  // (deleting members by a stale leader's configuration once removed a
  // member of the real one).
  const newer = nodes.some(
    (n) => isMember(conf, n.id) && (n.raw?.raft.term ?? n.disk.hardState.term) > raft.term,
  );
  if (newer) return undefined;
  const { committed, applied } = raft.log;
  if (applied !== committed || raft.log.term(committed) !== raft.term) return undefined;
  return conf;
}

export function simulate(seed: number, scale = 1): SimulationResult {
  return new Simulation(deriveParameters(seed, scale)).run();
}
