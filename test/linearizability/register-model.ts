// A register per key with read / write / compare-and-set, starting absent
// (null). The model of jepsen's etcd test and of the simulator's workload.

import { hashString, type Model, partitionByKey } from "./model.js";

export type RegisterValue = number | null;

export type RegisterInput =
  | { readonly kind: "read"; readonly key: string }
  | { readonly kind: "write"; readonly key: string; readonly value: number }
  | { readonly kind: "cas"; readonly key: string; readonly from: number; readonly to: number };

/** A read's value; for write and cas, whether it took effect. */
export type RegisterOutput =
  | { readonly kind: "read"; readonly value: RegisterValue }
  | { readonly kind: "done"; readonly applied: boolean };

export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  name: "register",
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case "read":
        if (output === undefined) return state;
        return output.kind === "read" && output.value === state ? state : undefined;
      case "write":
        return input.value;
      case "cas": {
        const matches = state === input.from;
        if (output === undefined) return matches ? input.to : state;
        if (output.kind !== "done" || output.applied !== matches) return undefined;
        return matches ? input.to : state;
      }
    }
  },
  equal: (a, b) => a === b,
  hash: (state) => (state === null ? 0x5bd1e995 : hashString(String(state))),
  partition: partitionByKey,
  describe(input, output) {
    const result =
      output === undefined
        ? "?"
        : output.kind === "read"
          ? String(output.value)
          : String(output.applied);
    switch (input.kind) {
      case "read":
        return `read(${input.key}) -> ${result}`;
      case "write":
        return `write(${input.key}, ${input.value}) -> ${result}`;
      case "cas":
        return `cas(${input.key}, ${input.from}, ${input.to}) -> ${result}`;
    }
  },
};
