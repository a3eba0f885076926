// A string per key with get / put / append, absent reading as "". The model
// of porcupine's kv histories.
//
// A value is kept as the chain of writes that built it, never as one string:
// the search keeps a state per memo entry, and a key appended to thousands
// of times would otherwise hold a copy of its whole value in each (a cluster
// test's check ran out of heap that way). Appending costs the length of the
// piece, in time and memory, whatever the length of the value.

import { type Model, partitionByKey } from "./model.js";

export interface KvInput {
  readonly kind: "get" | "put" | "append";
  readonly key: string;
  /** The argument of put and append; "" for get. */
  readonly value: string;
}

/** What a get returned; "" for put and append. */
export type KvOutput = string;

/**
 * A key's value: the last put (or the empty start) and the appends after it.
 * Only `shownAs` and `prefixOf` ever change, as facts about the value are
 * learned; what the value holds never does, so steps stay pure.
 */
export interface KvValue {
  readonly parent: KvValue | undefined;
  /** What this write added at the end: the put's value, or an append's. */
  readonly piece: string;
  readonly length: number;
  /** Polynomial hash of the whole value, carried forward piece by piece. */
  readonly hash: number;
  /**
   * The whole value as one string, once a get has shown it: later checks
   * against it compare two flat strings. Set only to a string the history
   * already holds, so it costs no memory.
   */
  shownAs: string | undefined;
  /**
   * The last longer string this value was found to begin: the search meets
   * a value shown by one get again on many paths to the next get, and each
   * comparison would otherwise cost the whole length.
   */
  prefixOf: string | undefined;
}

const hashBase = 0x01000193;

const empty: KvValue = {
  parent: undefined,
  piece: "",
  length: 0,
  hash: 0,
  shownAs: "",
  prefixOf: undefined,
};

export const kvModel: Model<KvValue, KvInput, KvOutput> = {
  name: "kv",
  init: () => empty,
  step(state, input, output) {
    switch (input.kind) {
      case "get":
        return output === undefined || valueIs(state, output) ? state : undefined;
      case "put":
        return {
          parent: undefined,
          piece: input.value,
          length: input.value.length,
          hash: hashExtend(0, input.value),
          shownAs: input.value,
          prefixOf: undefined,
        };
      case "append":
        if (input.value === "") return state;
        return {
          parent: state,
          piece: input.value,
          length: state.length + input.value.length,
          hash: hashExtend(state.hash, input.value),
          shownAs: undefined,
          prefixOf: undefined,
        };
    }
  },
  equal: (a, b) => a === b || (a.length === b.length && a.hash === b.hash && sameValue(a, b)),
  hash: (state) => state.hash,
  partition: partitionByKey,
  describe: (input, output) =>
    `${input.kind}(${input.key}, ${JSON.stringify(input.value)}) -> ${JSON.stringify(output)}`,
};

/** The hash of `text` appended to a value whose hash is `hash`. */
function hashExtend(hash: number, text: string): number {
  let result = hash;
  for (let i = 0; i < text.length; i++) {
    result = (Math.imul(result, hashBase) + text.charCodeAt(i)) | 0;
  }
  return result >>> 0;
}

/** Whether `value` holds exactly `text`; remembers `text` when it does. */
function valueIs(value: KvValue, text: string): boolean {
  if (value.length !== text.length) return false;
  if (value.shownAs !== undefined) return value.shownAs === text;
  let end = text.length;
  for (let node: KvValue | undefined = value; node !== undefined; node = node.parent) {
    if (node.shownAs !== undefined) {
      // The shared empty start remembers nothing: it would keep a string alive across checks.
      if (node.length > 0 && node.prefixOf !== text) {
        if (!text.startsWith(node.shownAs)) return false;
        node.prefixOf = text;
      }
      break;
    }
    end -= node.piece.length;
    if (!text.startsWith(node.piece, end)) return false;
  }
  value.shownAs = text;
  return true;
}

/** Whether two values of equal length and hash hold the same characters. */
function sameValue(a: KvValue, b: KvValue): boolean {
  if (a.shownAs !== undefined) return valueIs(b, a.shownAs);
  if (b.shownAs !== undefined) return valueIs(a, b.shownAs);
  return sameChars(a, b);
}

/**
 * Whether two values of equal length hold the same characters, compared
 * from the end. Values reached by different orders of the same writes
 * usually meet at a common earlier value, or at two that gets have shown.
 */
function sameChars(a: KvValue, b: KvValue): boolean {
  let x: KvValue | undefined = a;
  let y: KvValue | undefined = b;
  // Characters of x's and y's pieces not yet compared.
  let i = a.piece.length;
  let j = b.piece.length;
  while (x !== undefined && y !== undefined) {
    const xWhole = i === x.piece.length;
    const yWhole = j === y.piece.length;
    if (xWhole && yWhole) {
      if (x === y) return true;
      if (x.shownAs !== undefined && y.shownAs !== undefined) return x.shownAs === y.shownAs;
    }
    if (i === 0) {
      x = x.parent;
      i = x?.piece.length ?? 0;
    } else if (j === 0) {
      y = y.parent;
      j = y?.piece.length ?? 0;
    } else if (xWhole && yWhole && x.piece === y.piece) {
      i = 0;
      j = 0;
    } else if (x.piece.charCodeAt(--i) !== y.piece.charCodeAt(--j)) {
      return false;
    }
  }
  return true;
}
