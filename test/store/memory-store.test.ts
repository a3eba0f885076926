import test from "ava";
import { ManualClock } from "../../src/store/clock.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { MetaGetRequest } from "../../src/store/store.js";

const start = 1_800_000_000;

function setup(memoryLimitBytes = 64 * 1024 * 1024) {
  const clock = new ManualClock(start);
  const store = new MemoryStore({
    clock,
    memoryLimitBytes,
    itemSizeMaxBytes: 1024 * 1024,
    sweep: false,
  });
  const set = (key: string, value: string, exptime = 0, flags = 0) =>
    store.store({ mode: "set", key, value: Buffer.from(value), flags, exptime, cas: 0n });
  const value = (key: string) => store.get(key)?.value.toString();
  return { clock, store, set, value };
}

const metaGet = (key: string, extra: Partial<MetaGetRequest> = {}): MetaGetRequest => ({
  key,
  noBump: false,
  touchExptime: undefined,
  vivifyExptime: undefined,
  recacheExptime: undefined,
  effectOrder: "",
  keyBinary: false,
  ...extra,
});

test("relative exptimes expire when the clock passes them", (t) => {
  const { clock, set, value } = setup();
  set("k", "v", 10);
  clock.advance(9);
  t.is(value("k"), "v");
  clock.advance(1);
  t.is(value("k"), undefined);
});

test("exptimes above 30 days are absolute unix times", (t) => {
  const { clock, set, value } = setup();
  set("past", "v", start - 5);
  set("future", "v", start + 100);
  t.is(value("past"), undefined);
  t.is(value("future"), "v");
  clock.advance(100);
  t.is(value("future"), undefined);
});

test("a negative exptime stores an already expired item", (t) => {
  const { set, value } = setup();
  t.is(set("k", "v", -1).status, "stored");
  t.is(value("k"), undefined);
});

test("cas uniques grow with every new version and match only the current one", (t) => {
  const { store, set } = setup();
  const first = set("k", "a").cas;
  const second = set("k", "b").cas;
  t.true(second > first);
  const request = { mode: "cas" as const, key: "k", value: Buffer.from("c"), flags: 0, exptime: 0 };
  t.is(store.store({ ...request, cas: first }).status, "exists");
  t.is(store.store({ ...request, cas: second }).status, "stored");
  t.is(store.store({ ...request, key: "nope", cas: second }).status, "not_found");
});

test("a stale write with a lower cas is kept marked stale when invalidating", (t) => {
  const { store, set } = setup();
  const cas = set("k", "new").cas;
  const result = store.store({
    mode: "cas",
    key: "k",
    value: Buffer.from("old"),
    flags: 0,
    exptime: 0,
    cas: cas - 1n,
    invalidate: true,
  });
  t.is(result.status, "stored");
  const read = store.metaGet(metaGet("k"));
  t.is(read.item?.value.toString(), "old");
  t.true(read.stale);
  t.true(read.won, "the first reader of a stale item wins the recache");
  t.false(store.metaGet(metaGet("k")).won, "only once");
});

test("flush_all now hides everything written before it and nothing written after", (t) => {
  const { store, set, value } = setup();
  set("a", "1");
  store.flushAll(0);
  set("b", "2");
  t.is(value("a"), undefined);
  t.is(value("b"), "2");
});

test("a delayed flush takes effect one second before its deadline, as in memcached", (t) => {
  const { clock, store, set, value } = setup();
  set("a", "1");
  store.flushAll(10);
  clock.advance(8);
  t.is(value("a"), "1");
  clock.advance(1);
  set("b", "2");
  t.is(value("a"), undefined);
  t.is(value("b"), "2", "a write after the flush took effect survives");
});

test("an immediate flush cancels a delayed one", (t) => {
  const { clock, store, set, value } = setup();
  store.flushAll(10);
  store.flushAll(0);
  set("a", "1");
  clock.advance(20);
  t.is(value("a"), "1");
});

test("incr wraps at 2^64, decr stops at 0, and shorter results keep the old length", (t) => {
  const { store, set, value } = setup();
  set("w", "18446744073709551615");
  t.is(store.arithmetic({ key: "w", incr: true, delta: 1n }).value, 0n);
  t.is(value("w"), `0${" ".repeat(19)}`);
  set("d", "5");
  t.is(store.arithmetic({ key: "d", incr: false, delta: 10n }).value, 0n);
  set("g", "9");
  store.arithmetic({ key: "g", incr: true, delta: 1n });
  t.is(value("g"), "10");
  set("s", "abc");
  t.is(store.arithmetic({ key: "s", incr: true, delta: 1n }).status, "non_numeric");
  t.is(store.arithmetic({ key: "none", incr: true, delta: 1n }).status, "not_found");
});

test("incr keeps flags and exptime and takes a new cas", (t) => {
  const { clock, store, set } = setup();
  const before = set("n", "1", 50, 42).cas;
  const result = store.arithmetic({ key: "n", incr: true, delta: 1n });
  t.true(result.cas > before);
  const item = store.get("n");
  t.is(item?.flags, 42);
  clock.advance(50);
  t.is(store.get("n"), undefined);
});

test("append beyond the item size limit is refused and the old value kept", (t) => {
  const { store, set, value } = setup();
  set("a", "x".repeat(1024 * 1024 - 100));
  const result = store.store({
    mode: "append",
    key: "a",
    value: Buffer.alloc(200),
    flags: 0,
    exptime: 0,
    cas: 0n,
  });
  t.is(result.status, "not_stored");
  t.is(value("a")?.length, 1024 * 1024 - 100);
});

test("a full memory budget fails writes instead of evicting, after reclaiming expired items", (t) => {
  const { clock, store, set, value } = setup(8_000);
  for (let i = 0; i < 30; i++) set(`k${i}`, "x".repeat(200), i < 20 ? 5 : 0);
  t.is(set("more", "x".repeat(200)).status, "no_memory");
  t.is(value("k25"), "x".repeat(200), "nothing was evicted");
  t.is(store.stats().storeNoMemory, 1);
  clock.advance(5);
  t.is(set("more", "x".repeat(200)).status, "stored", "expired items made room");
});

test("a set that fails for lack of memory removes the old value", (t) => {
  const { set, value } = setup(1000);
  set("k", "small");
  t.is(set("k", "x".repeat(2000)).status, "no_memory");
  t.is(value("k"), undefined);
});

test("mg vivifies a miss once and reports the win to the first caller only", (t) => {
  const { store } = setup();
  const first = store.metaGet(metaGet("v", { vivifyExptime: 30, effectOrder: "Nt" }));
  t.is(first.item?.value.length, 0);
  t.true(first.won);
  t.is(first.ttl, 30);
  const second = store.metaGet(metaGet("v", { vivifyExptime: 30, effectOrder: "Nt" }));
  t.false(second.won);
  t.true(second.alreadyWon);
});

test("mg R wins when the ttl left is below the threshold, once", (t) => {
  const { store, set } = setup();
  set("r", "x", 10);
  t.true(store.metaGet(metaGet("r", { recacheExptime: 30, effectOrder: "R" })).won);
  t.false(store.metaGet(metaGet("r", { recacheExptime: 30, effectOrder: "R" })).won);
  set("long", "x", 100);
  t.false(store.metaGet(metaGet("long", { recacheExptime: 30, effectOrder: "R" })).won);
});

test("mg reports ttl before or after T depending on flag order", (t) => {
  const { store, set } = setup();
  set("k", "x", 100);
  t.is(store.metaGet(metaGet("k", { touchExptime: 30, effectOrder: "tT" })).ttl, 100);
  t.is(store.metaGet(metaGet("k", { touchExptime: 50, effectOrder: "Tt" })).ttl, 50);
});

test("mg reports fetched-before and idle time as they were before the command", (t) => {
  const { clock, store, set } = setup();
  set("k", "x");
  const first = store.metaGet(metaGet("k"));
  t.false(first.fetchedBefore);
  clock.advance(120);
  const second = store.metaGet(metaGet("k"));
  t.true(second.fetchedBefore);
  t.is(second.idleSeconds, 120);
  t.is(store.metaGet(metaGet("k")).idleSeconds, 0, "the access was recorded");
});

test("md with invalidate marks the item stale under a new cas", (t) => {
  const { store, set } = setup();
  const cas = set("k", "x").cas;
  t.is(store.delete({ key: "k", cas: cas + 1n }), "exists");
  t.is(store.delete({ key: "k", invalidate: true, touchExptime: 30 }), "deleted");
  const read = store.metaGet(metaGet("k", { effectOrder: "t" }));
  t.true(read.stale);
  t.true((read.item?.cas ?? 0n) > cas);
  t.is(read.ttl, 30);
});

test("the sweep removes expired items a bounded number at a time", (t) => {
  const { clock, store, set } = setup();
  for (let i = 0; i < 100; i++) set(`k${i}`, "x", i % 2 === 0 ? 5 : 0);
  clock.advance(5);
  t.is(store.stats().currItems, 100);
  t.is(store.sweep(30), 15);
  t.is(store.sweep(1000), 35);
  t.is(store.stats().currItems, 50);
  t.is(store.stats().reclaimed, 50);
});

test("bytes and item counts follow memcached's item size formula", (t) => {
  const { store, set } = setup();
  set("foo", "hi");
  set("a", "1", 0, 5);
  t.is(store.stats().bytes, 59 + 3 + 2 + (59 + 1 + 1 + 4));
  t.is(store.stats().currItems, 2);
  store.delete({ key: "foo" });
  t.is(store.stats().bytes, 59 + 1 + 1 + 4);
  t.is(store.stats().totalItems, 2);
});
