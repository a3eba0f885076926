// Small histories with verdicts worked out by hand, one per rule of the
// checker: real-time order, concurrency, unknown outcomes, per-key splits.

import test from "ava";
import { checkOperations } from "./checker.js";
import { type Operation, unknownReturn } from "./history.js";
import { type KvInput, type KvValue, kvModel } from "./kv-model.js";
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

type KvOperation = Operation<KvInput, string>;

/**
 * An operation on key "k": an append of `text`, or a get that returned
 * `text`; its outcome is unknown when it returns at unknownReturn.
 */
function kvOp(
  clientId: number,
  kind: "append" | "get",
  text: string,
  callTime: number,
  returnTime: number,
): KvOperation {
  return {
    clientId,
    input: { kind, key: "k", value: kind === "append" ? text : "" },
    output: returnTime === unknownReturn ? undefined : kind === "get" ? text : "",
    callTime,
    returnTime,
  };
}

test("appends must be seen in one order by every reader", (t) => {
  const history = [
    kvOp(0, "append", "x", 0, 10),
    kvOp(1, "append", "y", 0, 10),
    kvOp(2, "get", "xy", 1, 9),
    kvOp(3, "get", "yx", 1, 9),
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

/** Appends to one key by three overlapping clients, and a get after every `getEvery`. */
function longAppendHistory(appends: number, pieceLength: number, getEvery: number): KvOperation[] {
  const history: KvOperation[] = [];
  const pieces: string[] = [];
  for (let i = 0; i < appends; i++) {
    const piece = `.${i}`.padEnd(pieceLength, "x");
    pieces.push(piece);
    // Each append overlaps its two neighbours; its effect lands at 2i+1.
    history.push(kvOp(i % 3, "append", piece, 2 * i, 2 * i + 3));
    // The get's output is one flat string, as a reply read from a socket is.
    if (i % getEvery === getEvery - 1)
      history.push(kvOp(9, "get", pieces.join(""), 2 * i + 1.5, 2 * i + 1.6));
  }
  return history;
}

test("a key appended to thousands of times with long values is checked without a copy of its value per search state", (t) => {
  // 4,000 appends of 1,000 characters: a model holding each state's value
  // as one string keeps some 8 GB of them and runs out of heap.
  const history = longAppendHistory(4_000, 1_000, 200);
  const result = checkOperations(kvModel, history, { timeoutMs: 30_000 });
  t.is(result.verdict, "linearizable", result.explanation);
});

test("a value built by appends equals the same value put whole, for the search's memo", (t) => {
  const step = (state: KvValue, kind: KvInput["kind"], value: string) =>
    kvModel.step(state, { kind, key: "k", value }, kind === "get" ? value : "")!;
  const appended = step(step(step(kvModel.init(), "append", "ab"), "append", "c"), "append", "d");
  const put = step(kvModel.init(), "put", "abcd");
  const other = step(step(kvModel.init(), "append", "abd"), "append", "c");
  t.true(kvModel.equal(appended, put));
  t.is(kvModel.hash(appended), kvModel.hash(put));
  t.false(kvModel.equal(appended, other));
  t.true(kvModel.equal(step(kvModel.init(), "append", "a"), step(kvModel.init(), "append", "a")));
  t.false(kvModel.step(appended, { kind: "get", key: "k", value: "" }, "abdc") !== undefined);
  t.is(step(appended, "get", "abcd"), appended);
});

/** `lost` appends of unknown outcome, then a client appending and reading back in turn. */
function lostAppendsHistory(lost: number, pairs: number): KvOperation[] {
  const history: KvOperation[] = [];
  for (let i = 0; i < lost; i++)
    history.push(kvOp(10 + i, "append", `.lost${i}`, i, unknownReturn));
  let value = "";
  for (let i = 0; i < pairs; i++) {
    const piece = `.a${i}`;
    value += piece;
    const time = 100 + 4 * i;
    history.push(kvOp(0, "append", piece, time, time + 1));
    history.push(kvOp(0, "get", value, time + 2, time + 3));
  }
  return history;
}

test("appends of unknown outcome that never took effect cost the search nothing", (t) => {
  // A search that tries the ten lost appends first explores their every
  // order and subset before the first read refutes them, far past the
  // memory budget.
  const limits = { timeoutMs: 30_000, memoryBytesMax: 64 * 1024 * 1024 };
  t.is(checkOperations(kvModel, lostAppendsHistory(10, 1_000), limits).verdict, "linearizable");
  // One that a read at the end shows must still be placed, and one never
  // written cannot be.
  const history = lostAppendsHistory(3, 1_000);
  const last = history.at(-1)!;
  const read = (output: string) => ({ ...last, output, callTime: 5_000, returnTime: 5_001 });
  const seen = [...history, read(`${last.output}.lost1`)];
  t.is(checkOperations(kvModel, seen, limits).verdict, "linearizable");
  const never = [...history, read(`${last.output}.lost3`)];
  t.is(checkOperations(kvModel, never, limits).verdict, "not-linearizable");
});
