// Linearizability checker: Wing & Gong's search with Lowe's memoization, the
// algorithm porcupine implements (see shared/research/raft-sharding.md §3.6).
//
// Each operation becomes a call and a return event in one doubly linked list
// ordered by time (calls before returns at equal times: intervals are
// closed). The search walks the list: at a call it tries to linearize that
// operation now (the model accepts it and the pair (set of linearized ops,
// model state) was never seen before), unlinks it and restarts from the
// head; reaching a return means some operation that already returned was not
// placed, so it backtracks. An empty list is a witness order.
//
// The cache key hashes the linearized set by Zobrist hashing (a random word
// per operation, XORed in and out), so a step costs O(1) plus the model.
//
// Unknown outcomes return at +infinity: they may be linearized anywhere after
// their call, and placing one last is the same as it never happening. So at
// each point the search tries operations that returned before those of
// unknown outcome, and stops as soon as only the latter are left: a write
// that was lost (the usual unknown) is never tried at every point of the
// history, each try searching the whole stretch up to the next read that
// refutes it.

import type { Operation } from "./history.js";
import type { Model } from "./model.js";

export type Verdict = "linearizable" | "not-linearizable" | "unknown";

export interface PartitionResult {
  readonly verdict: Verdict;
  readonly operationCount: number;
  /** For "not-linearizable": the longest prefix the search could linearize. */
  readonly longestPrefix: readonly number[];
  /** For "not-linearizable": an operation that returned but could not be placed. */
  readonly blockingOperation: number | undefined;
  /** For "unknown": what stopped the search. */
  readonly gaveUp?: string;
}

export interface CheckResult {
  readonly verdict: Verdict;
  readonly partitions: readonly PartitionResult[];
  /** A readable account of the first failing partition, for test output. */
  readonly explanation: string;
}

export interface CheckOptions {
  /** Give up (verdict "unknown") after this much wall time per partition. */
  readonly timeoutMs?: number;
  /**
   * Give up (verdict "unknown") when a partition's memo table holds this
   * many bytes (default 1 GiB): a search too large would otherwise end the
   * process, and the verdict with it.
   */
  readonly memoryBytesMax?: number;
  /**
   * Check every partition even after one fails (default false: one failure
   * decides the verdict, and proving failure can take a full search).
   */
  readonly checkAllPartitions?: boolean;
}

const noNode = -1;
const head = 0;

export function checkOperations<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult {
  const partitions = model.partition ? model.partition(operations) : [operations.slice()];
  const results: PartitionResult[] = [];
  let verdict: Verdict = "linearizable";
  let explanation = "";
  for (const partition of partitions) {
    const result = checkPartition(model, partition, {
      timeoutMs: options.timeoutMs ?? 60_000,
      memoryBytesMax: options.memoryBytesMax ?? 1024 * 1024 * 1024,
    });
    results.push(result);
    if (result.verdict === "not-linearizable") {
      if (verdict !== "not-linearizable") explanation = explain(model, partition, result);
      verdict = "not-linearizable";
      if (options.checkAllPartitions !== true) break;
    } else if (result.verdict === "unknown" && verdict === "linearizable") {
      verdict = "unknown";
      explanation = `${model.name}: no verdict for a partition of ${result.operationCount} operations: ${result.gaveUp}`;
    }
  }
  return { verdict, partitions: results, explanation };
}

interface EventList {
  /** Per node: following node, or noNode. Node 0 is the head sentinel. */
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Per call node: its return node; -1 on return nodes. */
  readonly matching: Int32Array;
  /** Per node: the operation index. */
  readonly operationOf: Int32Array;
}

function buildEvents<Input, Output>(operations: readonly Operation<Input, Output>[]): EventList {
  const events: { time: number; isCall: boolean; operation: number }[] = [];
  operations.forEach((operation, index) => {
    if (!(operation.callTime <= operation.returnTime)) {
      throw new Error(`history: operation ${index} returns before its call`);
    }
    events.push({ time: operation.callTime, isCall: true, operation: index });
    events.push({ time: operation.returnTime, isCall: false, operation: index });
  });
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall));
  const nodeCount = events.length + 1;
  const list: EventList = {
    next: new Int32Array(nodeCount),
    prev: new Int32Array(nodeCount),
    matching: new Int32Array(nodeCount).fill(-1),
    operationOf: new Int32Array(nodeCount).fill(-1),
  };
  const callNode = new Int32Array(operations.length);
  for (let i = 0; i < events.length; i++) {
    const node = i + 1;
    const event = events[i]!;
    list.prev[node] = node - 1;
    list.next[node - 1] = node;
    list.operationOf[node] = event.operation;
    if (event.isCall) callNode[event.operation] = node;
    else list.matching[callNode[event.operation]!] = node;
  }
  list.next[nodeCount - 1] = noNode;
  list.prev[head] = noNode;
  return list;
}

/** Unlinks a call node and its return node. */
function lift(list: EventList, call: number): void {
  const { next, prev } = list;
  next[prev[call]!] = next[call]!;
  prev[next[call]!] = prev[call]!;
  const ret = list.matching[call]!;
  next[prev[ret]!] = next[ret]!;
  if (next[ret] !== noNode) prev[next[ret]!] = prev[ret]!;
}

/** Undoes `lift(call)`; calls must be unlifted in reverse order of lifting. */
function unlift(list: EventList, call: number): void {
  const { next, prev } = list;
  const ret = list.matching[call]!;
  next[prev[ret]!] = ret;
  if (next[ret] !== noNode) prev[next[ret]!] = ret;
  next[prev[call]!] = call;
  prev[next[call]!] = call;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }
  toggle(bit: number): void {
    this.words[bit >>> 5]! ^= 1 << (bit & 31);
  }
  equals(other: Uint32Array): boolean {
    for (let i = 0; i < other.length; i++) if (this.words[i] !== other[i]) return false;
    return true;
  }
}

/** xorshift32, fixed seed: Zobrist words need only be fixed per run. */
function zobristWords(count: number): Uint32Array {
  const words = new Uint32Array(count);
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return words;
}

function checkPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  limits: { readonly timeoutMs: number; readonly memoryBytesMax: number },
): PartitionResult {
  const list = buildEvents(operations);
  const zobrist = zobristWords(operations.length);
  const linearized = new Bitset(operations.length);
  const cache = new Map<number, { words: Uint32Array; state: State }[]>();
  const stack: { call: number; state: State }[] = [];
  const deadline = Date.now() + limits.timeoutMs;
  let cacheBytes = 0;
  let setHash = 0;
  let state = model.init();
  let longest: number[] = [];
  let blockingOperation: number | undefined;
  let entry = list.next[head]!;
  /** Whether the scan from the head tries operations of unknown outcome (its second pass). */
  let unknownPass = false;
  let steps = 0;

  while (list.next[head] !== noNode) {
    if ((++steps & 0xfff) === 0) {
      const gaveUp =
        Date.now() > deadline
          ? `searched for ${limits.timeoutMs} ms`
          : cacheBytes > limits.memoryBytesMax
            ? `memo table passed ${Math.round(cacheBytes / 2 ** 20)} MiB`
            : undefined;
      if (gaveUp !== undefined) {
        return {
          verdict: "unknown",
          operationCount: operations.length,
          longestPrefix: longest,
          blockingOperation,
          gaveUp,
        };
      }
    }
    const operationIndex = list.operationOf[entry]!;
    if (list.matching[entry] !== -1) {
      const operation = operations[operationIndex]!;
      if ((operation.output === undefined) !== unknownPass) {
        entry = list.next[entry]!;
        continue;
      }
      const nextState = model.step(state, operation.input, operation.output);
      if (nextState !== undefined) {
        linearized.toggle(operationIndex);
        const key =
          (setHash ^ zobrist[operationIndex]! ^ Math.imul(model.hash(nextState), 0x9e3779b1)) >>> 0;
        if (!cacheContains(model, cache, key, linearized, nextState)) {
          let bucket = cache.get(key);
          if (bucket === undefined) {
            bucket = [];
            cache.set(key, bucket);
          }
          bucket.push({ words: linearized.words.slice(), state: nextState });
          // The bitset, its object and the bucket slot; the state is shared or small.
          cacheBytes += linearized.words.byteLength + 64;
          stack.push({ call: entry, state });
          setHash ^= zobrist[operationIndex]!;
          state = nextState;
          lift(list, entry);
          entry = list.next[head]!;
          unknownPass = false;
          continue;
        }
        linearized.toggle(operationIndex);
      }
      entry = list.next[entry]!;
    } else if (!unknownPass) {
      // Returns of unknown outcomes sort last: reaching one first means
      // every operation that returned is placed, and the rest need not be.
      if (operations[operationIndex]!.output === undefined) break;
      unknownPass = true;
      entry = list.next[head]!;
    } else {
      if (stack.length > longest.length) {
        longest = stack.map((frame) => list.operationOf[frame.call]!);
        blockingOperation = operationIndex;
      }
      const frame = stack.pop();
      if (frame === undefined) {
        return {
          verdict: "not-linearizable",
          operationCount: operations.length,
          longestPrefix: longest,
          blockingOperation,
        };
      }
      const poppedOperation = list.operationOf[frame.call]!;
      linearized.toggle(poppedOperation);
      setHash ^= zobrist[poppedOperation]!;
      state = frame.state;
      unlift(list, frame.call);
      unknownPass = operations[poppedOperation]!.output === undefined;
      entry = list.next[frame.call]!;
    }
  }
  return {
    verdict: "linearizable",
    operationCount: operations.length,
    longestPrefix: [],
    blockingOperation: undefined,
  };
}

function cacheContains<State, Input, Output>(
  model: Model<State, Input, Output>,
  cache: Map<number, { words: Uint32Array; state: State }[]>,
  key: number,
  linearized: Bitset,
  state: State,
): boolean {
  const bucket = cache.get(key);
  if (bucket === undefined) return false;
  for (const seen of bucket) {
    if (linearized.equals(seen.words) && model.equal(seen.state, state)) return true;
  }
  return false;
}

function explain<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  result: PartitionResult,
): string {
  const describe = (index: number): string => {
    const operation = operations[index]!;
    const text = model.describe
      ? model.describe(operation.input, operation.output)
      : `${JSON.stringify(operation.input)} -> ${JSON.stringify(operation.output)}`;
    return `#${index} client ${operation.clientId} [${operation.callTime}, ${operation.returnTime}] ${text}`;
  };
  const lines = [
    `${model.name}: not linearizable; longest linearizable prefix (${result.longestPrefix.length} ops):`,
  ];
  for (const index of result.longestPrefix.slice(-10)) lines.push(`  ${describe(index)}`);
  if (result.blockingOperation !== undefined) {
    lines.push(`cannot place before its return: ${describe(result.blockingOperation)}`);
  }
  return lines.join("\n");
}
