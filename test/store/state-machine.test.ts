// The replicated state machine against the memory engine, the model: the
// same commands at the same times must give the same replies and leave the
// same items, cas values compared by their order of appearance.

import test from "ava";
import fc from "fast-check";
import { ManualClock } from "../../src/store/clock.js";
import { encodeStoreEntry, type StoreCommand } from "../../src/store/entry-codec.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import {
  type ItemTable,
  StoreStateMachine,
  type TableChanges,
} from "../../src/store/state-machine.js";
import type { ItemView } from "../../src/store/store.js";
import { runs } from "../helpers/property.js";

class MapTable implements ItemTable {
  readonly entries = new Map<string, Buffer>();
  appliedIndex = 0;
  writes = 0;

  /** `answerLater`: as the LSM when it must read a file; otherwise at once, as from its memtables. */
  constructor(private readonly answerLater = false) {}

  get(key: string): Buffer | undefined | Promise<Buffer | undefined> {
    const value = this.entries.get(key);
    return this.answerLater ? Promise.resolve(value) : value;
  }

  async write(appliedIndex: number, changes: TableChanges): Promise<void> {
    this.appliedIndex = appliedIndex;
    this.writes++;
    for (const [key, value] of changes) {
      if (value === undefined) this.entries.delete(key);
      else this.entries.set(key, value);
    }
  }
}

/** A machine over `table` with the limits every test here uses. */
function openMachine(table: ItemTable): Promise<StoreStateMachine> {
  return StoreStateMachine.open(table, { itemSizeMaxBytes: 1024, casGeneration: 0 });
}

const key = fc.constantFrom("a", "b", "c");
const exptime = fc.constantFrom(0, 1, 2, 5, -1);
const value = fc.constantFrom("", "0", "7", "18446744073709551615", "x", "hello");
const order = (letters: string) => fc.subarray([...letters]).map((picked) => picked.join(""));

/** Only flags that were given take part in the effect order, as the parser builds it. */
function given(effectOrder: string, values: Record<string, number | undefined>): string {
  return [...effectOrder]
    .filter((letter) => letter === "t" || values[letter] !== undefined)
    .join("");
}

const command: fc.Arbitrary<StoreCommand> = fc.oneof(
  fc
    .record({
      mode: fc.constantFrom("set", "add", "replace", "append", "prepend", "cas" as const),
      key,
      value: value.map((text) => Buffer.from(text)),
      flags: fc.nat(100),
      exptime,
      cas: fc.bigInt({ min: 0n, max: 12n }),
      invalidate: fc.boolean(),
      keyBinary: fc.boolean(),
    })
    .map((request) => ({ kind: "store" as const, request })),
  fc
    .record({
      key,
      cas: fc.option(fc.bigInt({ min: 0n, max: 12n }), { nil: undefined }),
      invalidate: fc.boolean(),
      touchExptime: fc.option(exptime, { nil: undefined }),
    })
    .map((request) => ({ kind: "delete" as const, request })),
  fc
    .record({
      key,
      incr: fc.boolean(),
      delta: fc.bigInt({ min: 0n, max: 20n }),
      cas: fc.bigInt({ min: 0n, max: 12n }),
      vivifyExptime: fc.option(exptime, { nil: undefined }),
      initial: fc.bigInt({ min: 0n, max: 9n }),
      touchExptime: fc.option(exptime, { nil: undefined }),
      effectOrder: order("tTN"),
    })
    .map((request) => ({
      kind: "arithmetic" as const,
      request: {
        ...request,
        effectOrder: given(request.effectOrder, {
          T: request.touchExptime,
          N: request.vivifyExptime,
        }),
      },
    })),
  fc.record({ kind: fc.constant("touch" as const), key, exptime }),
  fc.record({ kind: fc.constant("flush_all" as const), delay: fc.constantFrom(0, -1, 1, 2, 3) }),
  fc
    .record({
      key,
      noBump: fc.boolean(),
      keyBinary: fc.boolean(),
      touchExptime: fc.option(exptime, { nil: undefined }),
      vivifyExptime: fc.option(exptime, { nil: undefined }),
      recacheExptime: fc.option(fc.constantFrom(1, 3, 10), { nil: undefined }),
      effectOrder: order("TNRt"),
    })
    .map((request) => ({
      kind: "meta_get" as const,
      request: {
        ...request,
        effectOrder: given(request.effectOrder, {
          T: request.touchExptime,
          N: request.vivifyExptime,
          R: request.recacheExptime,
        }),
      },
    })),
);

const step = fc.record({
  command,
  advanceMs: fc.constantFrom(0, 0, 300, 1000, 2500),
  readKey: key,
});

/**
 * Replaces each distinct cas by its order of first appearance, so engines
 * can be compared. Commands name a cas the same way: name n means the n-th
 * cas this engine showed; an unknown name is above every cas seen, which
 * keeps the order the invalidate rule compares.
 */
class CasNames {
  private readonly names = new Map<bigint, number>();
  private readonly values: bigint[] = [];

  name(cas: bigint): number {
    if (cas === 0n) return 0;
    let name = this.names.get(cas);
    if (name === undefined) {
      name = this.names.size + 1;
      this.names.set(cas, name);
      this.values.push(cas);
    }
    return name;
  }

  actual(name: bigint): bigint {
    if (name === 0n) return 0n;
    return this.values[Number(name) - 1] ?? (this.values.at(-1) ?? 0n) + 1_000_000n + name;
  }
}

/** The command with each cas name replaced by what it means in one engine. */
function resolveCas(command: StoreCommand, names: CasNames): StoreCommand {
  switch (command.kind) {
    case "store":
      return {
        ...command,
        request: { ...command.request, cas: names.actual(command.request.cas) },
      };
    case "delete": {
      const cas = command.request.cas;
      return {
        ...command,
        request: { ...command.request, cas: cas === undefined ? undefined : names.actual(cas) },
      };
    }
    case "arithmetic":
      return {
        ...command,
        request: { ...command.request, cas: names.actual(command.request.cas ?? 0n) },
      };
    default:
      return command;
  }
}

function item(view: ItemView | undefined, names: CasNames) {
  if (view === undefined) return undefined;
  return {
    value: view.value.toString("latin1"),
    flags: view.flags,
    exptime: view.exptime,
    cas: names.name(view.cas),
  };
}

test("the replicated state machine agrees with the memory engine, whether its table answers at once or later", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 60 }),
      fc.boolean(),
      async (steps, answerLater) => {
        let nowMs = 1_800_000_000_000;
        const clock = new ManualClock(Math.floor(nowMs / 1000));
        const model = new MemoryStore({
          clock,
          memoryLimitBytes: 1 << 30,
          itemSizeMaxBytes: 1024,
          sweep: false,
        });
        const table = new MapTable(answerLater);
        const machine = await openMachine(table);
        const modelNames = new CasNames();
        const machineNames = new CasNames();
        let index = 0;
        for (const { command, advanceMs, readKey } of steps) {
          nowMs += advanceMs;
          clock.advance(Math.floor(nowMs / 1000) - clock.nowSeconds());
          index += 1 + (index % 3);
          const forMachine = resolveCas(command, machineNames);
          const outcome = await machine.apply(
            index,
            encodeStoreEntry({ timestampMs: nowMs, command: forMachine }),
          );
          const expected = applyToModel(model, resolveCas(command, modelNames), modelNames);
          t.deepEqual(
            describe(outcome, machineNames),
            expected,
            `step ${index}: ${JSON.stringify(command, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`,
          );
          const read = await machine.read(readKey, Math.floor(nowMs / 1000));
          t.deepEqual(
            item(read, machineNames),
            item(model.peek(readKey), modelNames),
            `read ${readKey} at step ${index}`,
          );
        }
        t.is(table.appliedIndex, index);
      },
    ),
    { numRuns: runs(300) },
  );
});

function applyToModel(model: MemoryStore, command: StoreCommand, names: CasNames): unknown {
  switch (command.kind) {
    case "store": {
      const result = model.store(command.request);
      return { kind: "store", status: result.status, cas: names.name(result.cas) };
    }
    case "delete":
      return { kind: "delete", status: model.delete(command.request) };
    case "arithmetic": {
      const result = model.arithmetic(command.request);
      return { kind: "arithmetic", ...result, cas: names.name(result.cas) };
    }
    case "touch":
      return { kind: "touch", touched: model.touch(command.key, command.exptime) };
    case "flush_all":
      model.flushAll(command.delay);
      return { kind: "flush_all" };
    case "meta_get": {
      const { item: found, ttl, won, alreadyWon, stale, touched } = model.metaGet(command.request);
      return { kind: "meta_get", item: item(found, names), ttl, won, alreadyWon, stale, touched };
    }
  }
}

function describe(
  outcome: Awaited<ReturnType<StoreStateMachine["apply"]>>,
  names: CasNames,
): unknown {
  if (outcome === undefined) return undefined;
  switch (outcome.kind) {
    case "store":
      return { kind: "store", status: outcome.result.status, cas: names.name(outcome.result.cas) };
    case "delete":
      return { kind: "delete", status: outcome.result };
    case "arithmetic":
      return { kind: "arithmetic", ...outcome.result, cas: names.name(outcome.result.cas) };
    case "touch":
      return { kind: "touch", touched: outcome.result !== undefined };
    case "flush_all":
      return { kind: "flush_all" };
    case "meta_get": {
      const { item: found, ttl, won, alreadyWon, stale, touched } = outcome.result;
      return { kind: "meta_get", item: item(found, names), ttl, won, alreadyWon, stale, touched };
    }
  }
}

test("entries without a payload change no item but move the applied index and the hash", async (t) => {
  const table = new MapTable();
  const machine = await openMachine(table);
  t.is(await machine.apply(1, new Uint8Array()), undefined);
  t.deepEqual(
    [...table.entries.keys()].filter((key) => key.length <= 250),
    [],
  );
  t.is(table.appliedIndex, 1);
  t.is(machine.latestHash.index, 1);
});

test("replicas that apply the same entries have the same state hash at every index", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
      const entries = commands.map((c, i) =>
        encodeStoreEntry({ timestampMs: 1_800_000_000_000 + i * 400, command: c }),
      );
      const first = await openMachine(new MapTable());
      const second = await openMachine(new MapTable());
      for (const [i, payload] of entries.entries()) {
        await first.apply(i + 1, payload);
        await second.apply(i + 1, payload);
        t.is(first.hashAt(i + 1), second.hashAt(i + 1));
      }
    }),
    { numRuns: runs(100) },
  );
});

test("entries applied in runs give the outcomes, hashes and table of entries applied one by one", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 40 }),
      async (commands, runLengths) => {
        const payloads = commands.map((c, i) =>
          encodeStoreEntry({ timestampMs: 1_800_000_000_000 + i * 700, command: c }),
        );
        const singleTable = new MapTable();
        const single = await openMachine(singleTable);
        const singleOutcomes = [];
        for (const [i, payload] of payloads.entries())
          singleOutcomes.push(await single.apply(i + 1, payload));
        const runTable = new MapTable();
        const batched = await openMachine(runTable);
        const runOutcomes = [];
        let writes = 0;
        for (let start = 0, run = 0; start < payloads.length; run++) {
          const length = runLengths[run % runLengths.length]!;
          const entries = payloads
            .slice(start, start + length)
            .map((payload, offset) => ({ index: start + offset + 1, payload }));
          runOutcomes.push(...(await batched.applyAll(entries)));
          writes++;
          start += entries.length;
          t.is(runTable.appliedIndex, start);
        }
        t.deepEqual(runOutcomes, singleOutcomes);
        for (let i = 1; i <= payloads.length; i++) t.is(batched.hashAt(i), single.hashAt(i));
        t.deepEqual(
          new Map([...runTable.entries].sort()),
          new Map([...singleTable.entries].sort()),
        );
        t.is(runTable.writes, writes, "one table write per run");
      },
    ),
    { numRuns: runs(200) },
  );
});

test("a replica that applied a different change has a different state hash", async (t) => {
  const at = (value: string) =>
    encodeStoreEntry({
      timestampMs: 1_800_000_000_000,
      command: {
        kind: "store",
        request: {
          mode: "set",
          key: "k",
          value: Buffer.from(value),
          flags: 0,
          exptime: 0,
          cas: 0n,
        },
      },
    });
  const first = await openMachine(new MapTable());
  const second = await openMachine(new MapTable());
  await first.apply(1, at("a"));
  await second.apply(1, at("b"));
  t.not(first.hashAt(1), second.hashAt(1));
});

test("a reopened state machine keeps the flush watermark", async (t) => {
  const table = new MapTable();
  const first = await openMachine(table);
  const at = (seconds: number, command: StoreCommand) =>
    encodeStoreEntry({ timestampMs: seconds * 1000, command });
  await first.apply(
    1,
    at(1_800_000_000, {
      kind: "store",
      request: { mode: "set", key: "k", value: Buffer.from("v"), flags: 0, exptime: 0, cas: 0n },
    }),
  );
  await first.apply(2, at(1_800_000_000, { kind: "flush_all", delay: 0 }));
  const second = await openMachine(table);
  t.is(await second.read("k", 1_800_000_001), undefined);
  t.is(second.flushState.casBelow, 2n);
});

test("a read the table answers at once is answered at once; a damaged item fails it as a rejection naming the key, never a throw", async (t) => {
  const table = new MapTable();
  const machine = await openMachine(table);
  await machine.apply(
    1,
    encodeStoreEntry({
      timestampMs: 1_800_000_000_000,
      command: {
        kind: "store",
        request: { mode: "set", key: "k", value: Buffer.from("v"), flags: 5, exptime: 0, cas: 0n },
      },
    }),
  );
  const item = machine.read("k", 1_800_000_001);
  t.false(item instanceof Promise);
  t.is((item as ItemView).value.toString(), "v");
  t.is((item as ItemView).flags, 5);
  table.entries.set("bad", Buffer.from([0xff, 0x01]));
  let damaged: unknown;
  t.notThrows(() => {
    damaged = machine.read("bad", 1_800_000_001);
  });
  t.true(damaged instanceof Promise);
  const error = await t.throwsAsync(damaged as Promise<unknown>);
  t.regex(error!.message, /"bad"/);
});

test("cas uniques carry the group's generation above the log index", async (t) => {
  const machine = await StoreStateMachine.open(new MapTable(), {
    itemSizeMaxBytes: 1024,
    casGeneration: 3,
  });
  t.is(machine.casOf(42), (3n << 48n) | 42n);
});

test("a machine reopened from a flushed table and replaying the rest reaches the same table", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          command,
          timestampMs: fc.integer({ min: 1_800_000_000_000, max: 1_800_000_010_000 }),
        }),
        {
          minLength: 2,
          maxLength: 40,
        },
      ),
      fc.nat(),
      async (entries, cutAt) => {
        const cut = 1 + (cutAt % (entries.length - 1));
        const encoded = entries.map(({ command: c, timestampMs }) =>
          encodeStoreEntry({ timestampMs, command: c }),
        );
        const continuous = new MapTable();
        const machine = await openMachine(continuous);
        for (const [i, payload] of encoded.entries()) await machine.apply(i + 1, payload);
        const flushed = new MapTable();
        const first = await openMachine(flushed);
        for (let i = 0; i < cut; i++) await first.apply(i + 1, encoded[i]!);
        const copy = new MapTable();
        for (const [key, value] of flushed.entries) copy.entries.set(key, value);
        const reopened = await openMachine(copy);
        for (let i = cut; i < encoded.length; i++) await reopened.apply(i + 1, encoded[i]!);
        t.deepEqual(new Map([...copy.entries].sort()), new Map([...continuous.entries].sort()));
        t.deepEqual(reopened.latestHash, machine.latestHash);
      },
    ),
    { numRuns: runs(200) },
  );
});
