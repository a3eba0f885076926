// What clients did to each key, and what a recovery may therefore show: the
// oracle of the durability tests (in the manner of RocksDB's db_stress
// expected state).
//
// Each key has one writer, which issues one operation at a time and stops at
// the first one without a definite reply. So a key's operations since it was
// last checked are a prefix that was acknowledged, then at most one whose
// fate is unknown. After a crash the key must hold the state after every
// acknowledged operation, or after the unknown one too: nothing else. The
// operations are not idempotent (append, incr), so an entry replayed twice
// (data durable ahead of its applied index) or skipped (an applied index
// durable without its data) shows as a duplicated or missing token.

import type { Prng } from "../../src/raft/prng.js";

export type WriteOperation =
  | { readonly kind: "set"; readonly value: string }
  | { readonly kind: "append"; readonly value: string }
  | { readonly kind: "delete" }
  | { readonly kind: "incr"; readonly by: number };

/** The reply memcached gives, as the text protocol words it. */
export type WriteReply = "STORED" | "NOT_STORED" | "DELETED" | "NOT_FOUND" | `${number}`;

/** A key's state after `operation`, and the reply it gets. */
export function applyWrite(
  state: string | undefined,
  operation: WriteOperation,
): { state: string | undefined; reply: WriteReply } {
  switch (operation.kind) {
    case "set":
      return { state: operation.value, reply: "STORED" };
    case "append":
      if (state === undefined) return { state, reply: "NOT_STORED" };
      return { state: state + operation.value, reply: "STORED" };
    case "delete":
      return { state: undefined, reply: state === undefined ? "NOT_FOUND" : "DELETED" };
    case "incr": {
      if (state === undefined) return { state, reply: "NOT_FOUND" };
      const next = String(BigInt(state) + BigInt(operation.by));
      return { state: next, reply: next as WriteReply };
    }
  }
}

/** Appended values stay below this, so that a chain never nears the item size limit. */
const appendChainBytesMax = 1500;

export class KeyHistory {
  /** The state checked last (after the last restart), certain. */
  private base: string | undefined = undefined;
  private readonly operations: WriteOperation[] = [];
  private acknowledged = 0;

  constructor(
    readonly key: string,
    /** Counters take set "0" and incr; other keys set, append and delete. */
    readonly counter: boolean,
  ) {}

  /** The state if every operation issued took effect: what the writer expects. */
  get current(): string | undefined {
    let state = this.base;
    for (const operation of this.operations) state = applyWrite(state, operation).state;
    return state;
  }

  /** True when an operation without a definite reply was issued since the last check. */
  get uncertain(): boolean {
    return this.acknowledged < this.operations.length;
  }

  /** The next operation for this key; `tag` makes its bytes unique. */
  nextOperation(random: Prng, tag: string): WriteOperation {
    const state = this.current;
    if (this.counter) {
      if (state === undefined || random.chance(0.05)) return { kind: "set", value: "0" };
      if (random.chance(0.05)) return { kind: "delete" };
      return { kind: "incr", by: 1 + random.int(1000) };
    }
    const fresh = `${tag};`.repeat(1 + random.int(3));
    if (state === undefined || state.length > appendChainBytesMax || random.chance(0.15))
      return { kind: "set", value: fresh };
    if (random.chance(0.1)) return { kind: "delete" };
    return { kind: "append", value: `${tag};` };
  }

  /** Records an operation about to be sent; returns the reply it must get. */
  issue(operation: WriteOperation): WriteReply {
    if (this.uncertain) throw new Error(`${this.key}: a second operation while one is uncertain`);
    const { reply } = applyWrite(this.current, operation);
    this.operations.push(operation);
    return reply;
  }

  acknowledge(): void {
    this.acknowledged++;
  }

  /** The states a recovery may show: after every acknowledged operation, and after each later one. */
  allowedStates(): (string | undefined)[] {
    let state = this.base;
    const allowed: (string | undefined)[] = [];
    for (const [i, operation] of this.operations.entries()) {
      if (i >= this.acknowledged) allowed.push(state);
      state = applyWrite(state, operation).state;
    }
    allowed.push(state);
    return allowed;
  }

  /**
   * Checks what a recovery shows; on success it becomes the certain state.
   * Returns a description of the problem, or undefined.
   */
  check(found: string | undefined): string | undefined {
    const allowed = this.allowedStates();
    if (!allowed.includes(found)) {
      return `${this.key}: found ${describe(found)}, expected ${allowed.map(describe).join(" or ")} (${this.acknowledged} acknowledged, ${this.operations.length} issued since the last check)`;
    }
    this.base = found;
    this.operations.length = 0;
    this.acknowledged = 0;
    return undefined;
  }
}

function describe(state: string | undefined): string {
  if (state === undefined) return "nothing";
  return state.length > 80
    ? `${JSON.stringify(state.slice(0, 30))}…${JSON.stringify(state.slice(-30))} (${state.length} bytes)`
    : JSON.stringify(state);
}

/** The keys of `writers` writers, each owning `keysPerWriter`, one in five a counter. */
export function keyHistories(writers: number, keysPerWriter: number): KeyHistory[][] {
  return Array.from({ length: writers }, (_, writer) =>
    Array.from(
      { length: keysPerWriter },
      (_, k) => new KeyHistory(`w${writer}-${k % 5 === 4 ? "c" : "k"}${k}`, k % 5 === 4),
    ),
  );
}
