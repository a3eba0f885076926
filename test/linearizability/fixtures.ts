// Parsers for the histories with known verdicts in histories/ (a copy of
// shared/data/linearizability, MIT-licensed, see its README.md and
// LICENSE.md): jepsen etcd logs (one register) and porcupine's kv histories.
// Event order is the clock: an operation's call and return times are the
// line numbers of its invoke and of its completion.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HistoryRecorder, type Operation } from "./history.js";
import type { KvInput, KvOutput } from "./kv-model.js";
import type { RegisterInput, RegisterOutput } from "./register-model.js";

/** The fixtures folder: $MEMRAFT_SHARED_DIR's data/linearizability, else the copy in the repository. */
export function fixturesDir(): string {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  const dir =
    process.env["MEMRAFT_SHARED_DIR"] === undefined
      ? join(repoRoot, "test", "linearizability", "histories")
      : join(process.env["MEMRAFT_SHARED_DIR"], "data", "linearizability");
  if (!existsSync(dir)) throw new Error(`linearizability fixtures not found at ${dir}`);
  return dir;
}

export function readExpected(folder: string): { file: string; expected: string }[] {
  const text = readFileSync(join(folder, "expected.tsv"), "latin1");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [file, expected] = line.split("\t");
      if (file === undefined || expected === undefined)
        throw new Error(`bad expected.tsv line: ${line}`);
      return { file, expected: expected.trim() };
    });
}

const jepsenLine = /jepsen\.util - (\d+)\t:(invoke|ok|fail|info)\t:(read|write|cas)\t(.*)$/;

/** A jepsen etcd log as register operations on the key "r". */
export function parseJepsenLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
  const open = new Map<number, { handle: number; kind: string }>();
  for (const line of text.split("\n")) {
    const match = jepsenLine.exec(line);
    if (match === null) continue;
    const process = Number(match[1]);
    const [type, f, value] = [match[2]!, match[3]!, match[4]!.trim()];
    if (type === "invoke") {
      open.set(process, { handle: recorder.call(process, jepsenInput(f, value)), kind: f });
      continue;
    }
    const pending = open.get(process);
    if (pending === undefined) throw new Error(`jepsen log: ${type} without invoke: ${line}`);
    open.delete(process);
    if (type === "fail") recorder.fail(pending.handle);
    else if (type === "info") recorder.unknown(pending.handle);
    else recorder.ok(pending.handle, jepsenOutput(f, value));
  }
  // A read of unknown outcome constrains nothing.
  return recorder
    .operations()
    .filter((operation) => operation.output !== undefined || operation.input.kind !== "read");
}

function jepsenInput(f: string, value: string): RegisterInput {
  if (f === "read") return { kind: "read", key: "r" };
  if (f === "write") return { kind: "write", key: "r", value: Number(value) };
  const [from, to] = parsePair(value);
  return { kind: "cas", key: "r", from, to };
}

function jepsenOutput(f: string, value: string): RegisterOutput {
  if (f === "read") return { kind: "read", value: value === "nil" ? null : Number(value) };
  return { kind: "done", applied: true };
}

function parsePair(value: string): [number, number] {
  const match = /^\[(-?\d+) (-?\d+)\]$/.exec(value);
  if (match === null) throw new Error(`jepsen log: bad cas argument ${value}`);
  return [Number(match[1]), Number(match[2])];
}

const kvLine =
  /^\{:process (\d+), :type :(invoke|ok|fail|info), :f :(get|put|append), :key "([^"]*)", :value (nil|"[^"]*")\}$/;

/** A porcupine kv history. */
export function parseKvHistory(text: string): Operation<KvInput, KvOutput>[] {
  const recorder = new HistoryRecorder<KvInput, KvOutput>();
  const open = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const match = kvLine.exec(line.trim());
    if (match === null) throw new Error(`kv history: unrecognised line ${line}`);
    const process = Number(match[1]);
    const [type, f, key, raw] = [match[2]!, match[3]!, match[4]!, match[5]!];
    const value = raw === "nil" ? "" : raw.slice(1, -1);
    if (type === "invoke") {
      const kind = f as KvInput["kind"];
      open.set(process, recorder.call(process, { kind, key, value: kind === "get" ? "" : value }));
      continue;
    }
    const handle = open.get(process);
    if (handle === undefined) throw new Error(`kv history: ${type} without invoke: ${line}`);
    open.delete(process);
    if (type === "fail") recorder.fail(handle);
    else if (type === "info") recorder.unknown(handle);
    else recorder.ok(handle, f === "get" ? value : "");
  }
  return recorder.operations();
}
