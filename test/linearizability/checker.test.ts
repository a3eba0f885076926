// Small histories with verdicts worked out by hand, one per rule of the
// checker: real-time order, concurrency, unknown outcomes, per-key splits.

import test from "ava";
import { checkOperations } from "./checker.js";
import { type Operation, unknownReturn } from "./history.js";
import { kvModel } from "./kv-model.js";
import { type RegisterInput, type RegisterOutput, registerModel } from "./register-model.js";

type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

function write(
  clientId: number,
  value: number,
  callTime: number,
  returnTime: number,
  key = "a",
): RegisterOperation {
  const output =
    returnTime === unknownReturn ? undefined : ({ kind: "done", applied: true } as const);
  return { clientId, input: { kind: "write", key, value }, output, callTime, returnTime };
}

function read(
  clientId: number,
  value: number | null,
  callTime: number,
  returnTime: number,
  key = "a",
): RegisterOperation {
  return {
    clientId,
    input: { kind: "read", key },
    output: { kind: "read", value },
    callTime,
    returnTime,
  };
}

function cas(
  clientId: number,
  from: number,
  to: number,
  applied: boolean | undefined,
  callTime: number,
  returnTime: number,
): RegisterOperation {
  const output = applied === undefined ? undefined : ({ kind: "done", applied } as const);
  return { clientId, input: { kind: "cas", key: "a", from, to }, output, callTime, returnTime };
}

const cases: { title: string; history: RegisterOperation[]; verdict: string }[] = [
  { title: "an empty history is linearizable", history: [], verdict: "linearizable" },
  {
    title: "a read after a completed write must see it",
    history: [write(0, 1, 0, 1), read(1, null, 2, 3)],
    verdict: "not-linearizable",
  },
  {
    title: "a read concurrent with a write may see either value",
    history: [write(0, 1, 0, 3), read(1, null, 1, 2), read(2, 1, 1, 2)],
    verdict: "linearizable",
  },
  {
    title: "two sequential reads cannot see a write and then its absence",
    history: [write(0, 1, 0, 10), read(1, 1, 1, 2), read(1, null, 3, 4)],
    verdict: "not-linearizable",
  },
  {
    title: "operations whose intervals touch are concurrent",
    history: [write(0, 1, 0, 5), read(1, null, 5, 6)],
    verdict: "linearizable",
  },
  {
    title: "a write of unknown outcome may take effect late",
    history: [write(0, 1, 0, unknownReturn), read(1, null, 1, 2), read(1, 1, 3, 4)],
    verdict: "linearizable",
  },
  {
    title: "a write of unknown outcome may never take effect",
    history: [write(0, 1, 0, unknownReturn), read(1, null, 100, 101)],
    verdict: "linearizable",
  },
  {
    title: "a write of unknown outcome cannot take effect before its call",
    history: [read(1, 1, 0, 1), write(0, 1, 2, unknownReturn)],
    verdict: "not-linearizable",
  },
  {
    title: "a successful cas needs the expected value",
    history: [write(0, 1, 0, 1), cas(1, 2, 3, true, 2, 3)],
    verdict: "not-linearizable",
  },
  {
    title: "a failed cas leaves the value alone",
    history: [write(0, 1, 0, 1), cas(1, 2, 3, false, 2, 3), read(0, 1, 4, 5)],
    verdict: "linearizable",
  },
  {
    title: "a cas of unknown outcome may have applied",
    history: [write(0, 1, 0, 1), cas(1, 1, 3, undefined, 2, unknownReturn), read(0, 3, 4, 5)],
    verdict: "linearizable",
  },
  {
    title: "keys are independent registers",
    history: [write(0, 1, 0, 1, "a"), read(1, null, 2, 3, "b"), read(1, 1, 4, 5, "a")],
    verdict: "linearizable",
  },
  {
    title: "a stale read on one key fails the whole history",
    history: [
      write(0, 1, 0, 1, "a"),
      write(0, 2, 0, 1, "b"),
      read(1, 2, 2, 3, "b"),
      read(1, null, 4, 5, "a"),
    ],
    verdict: "not-linearizable",
  },
];

for (const { title, history, verdict } of cases) {
  test(title, (t) => {
    const result = checkOperations(registerModel, history);
    t.is<string, string>(result.verdict, verdict, result.explanation);
  });
}

test("a failing verdict explains the operation that could not be placed", (t) => {
  const result = checkOperations(registerModel, [write(0, 7, 0, 1), read(1, null, 2, 3)]);
  t.is(result.verdict, "not-linearizable");
  t.regex(
    result.explanation,
    /cannot place before its return: #1 client 1 \[2, 3\] read\(a\) -> null/,
  );
});

test("appends must be seen in one order by every reader", (t) => {
  const op = (
    clientId: number,
    kind: "get" | "append",
    value: string,
    output: string,
    callTime: number,
    returnTime: number,
  ) => ({
    clientId,
    input: { kind, key: "k", value: kind === "get" ? "" : value },
    output,
    callTime,
    returnTime,
  });
  const history = [
    op(0, "append", "x", "", 0, 10),
    op(1, "append", "y", "", 0, 10),
    op(2, "get", "", "xy", 1, 9),
    op(3, "get", "", "yx", 1, 9),
  ];
  t.is(checkOperations(kvModel, history).verdict, "not-linearizable");
  t.is(checkOperations(kvModel, history.slice(0, 3)).verdict, "linearizable");
});

test("a search that runs out of time says unknown rather than guessing", (t) => {
  // Many concurrent writes of distinct values then an impossible read: the
  // search must explore every order, far beyond a zero budget.
  const history: RegisterOperation[] = [];
  for (let i = 0; i < 40; i++) history.push(write(i, i, 0, 100));
  history.push(read(99, 1000, 101, 102));
  t.is(checkOperations(registerModel, history, { timeoutMs: 0 }).verdict, "unknown");
});

test("a search that outgrows its memory budget says unknown, and why, rather than ending the process", (t) => {
  const history: RegisterOperation[] = [];
  for (let i = 0; i < 40; i++) history.push(write(i, i, 0, unknownReturn));
  history.push(read(99, 1000, 101, 102));
  const result = checkOperations(registerModel, history, { memoryBytesMax: 1024 * 1024 });
  t.is(result.verdict, "unknown");
  t.regex(result.explanation, /memo table passed 1 MiB/);
});
