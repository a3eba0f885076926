// A string per key with get / put / append, absent reading as "". The model
// of porcupine's kv histories.

import { hashString, type Model, partitionByKey } from "./model.js";

export interface KvInput {
  readonly kind: "get" | "put" | "append";
  readonly key: string;
  /** The argument of put and append; "" for get. */
  readonly value: string;
}

/** What a get returned; "" for put and append. */
export type KvOutput = string;

export const kvModel: Model<string, KvInput, KvOutput> = {
  name: "kv",
  init: () => "",
  step(state, input, output) {
    switch (input.kind) {
      case "get":
        return output === undefined || output === state ? state : undefined;
      case "put":
        return input.value;
      case "append":
        return state + input.value;
    }
  },
  equal: (a, b) => a === b,
  hash: hashString,
  partition: partitionByKey,
  describe: (input, output) =>
    `${input.kind}(${input.key}, ${JSON.stringify(input.value)}) -> ${JSON.stringify(output)}`,
};
