// The interface a sequential specification implements for the
// linearizability checker. Models are pure: `step` never mutates `state`.

import type { Operation } from "./history.js";

export interface Model<State, Input, Output> {
  readonly name: string;
  init(): State;
  /**
   * The state after applying `input` to `state` when the client saw `output`,
   * or `undefined` if that output is impossible from `state`. `output` is
   * `undefined` when the outcome is unknown: return the state the operation
   * would produce if it took effect here (an op that might have had no effect
   * is covered by the checker placing it after everything else).
   */
  step(state: State, input: Input, output: Output | undefined): State | undefined;
  equal(a: State, b: State): boolean;
  /** Any hash consistent with `equal`. */
  hash(state: State): number;
  /**
   * Splits a history into independent sub-histories (per key) whose
   * linearizability implies that of the whole (Herlihy & Wing locality).
   */
  partition?(operations: readonly Operation<Input, Output>[]): Operation<Input, Output>[][];
  describe?(input: Input, output: Output | undefined): string;
}

/** FNV-1a over a string's UTF-16 code units; for model hashes. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Groups operations by a key; order inside each group is preserved. */
export function partitionByKey<Input extends { readonly key: string }, Output>(
  operations: readonly Operation<Input, Output>[],
): Operation<Input, Output>[][] {
  const byKey = new Map<string, Operation<Input, Output>[]>();
  for (const operation of operations) {
    let group = byKey.get(operation.input.key);
    if (group === undefined) {
      group = [];
      byKey.set(operation.input.key, group);
    }
    group.push(operation);
  }
  return [...byKey.values()];
}
