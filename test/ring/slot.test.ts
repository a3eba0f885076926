import test from "ava";
import farmhash from "farmhash";
import { slotCount } from "../../src/ring/limits.js";
import { slotOf } from "../../src/ring/slot.js";
import { evenSlotMap, SlotTable } from "../../src/ring/slot-map.js";
import { chiSquare, randomKeys, testSeed } from "./fixtures.js";

// fingerprint64 values published by others, so that a different farmhash
// (or a different byte conversion) cannot pass by agreeing with itself:
// BigQuery's FARM_FINGERPRINT examples (cloud.google.com/bigquery/docs/
// reference/standard-sql/hash_functions; signed there, unsigned here) and
// the RcppFarmHash README (eddelbuettel/rcppfarmhash).
const publishedFingerprints: ReadonlyArray<readonly [string, bigint]> = [
  ["foo", 6150913649986995171n],
  ["apple", 6447335267136888601n],
  ["", 18446744073709551616n - 7286425919675154353n],
  ["1", 18446744073709551616n - 9142586270102516767n],
  ["true", 8572766038233537570n],
  ["1footrue", 18446744073709551616n - 1541654101129638711n],
  ["bar", 18446744073709551616n - 98778129085727977n],
  ["baz", 3758908700204700005n],
];

test("fingerprint64 gives the values other farmhash implementations publish", (t) => {
  for (const [key, fingerprint] of publishedFingerprints) {
    t.is(farmhash.fingerprint64(Buffer.from(key, "latin1")), fingerprint, JSON.stringify(key));
  }
});

// Pinned forever: a key's slot decides its group, so a change here moves
// stored data. Computed once with farmhash 5.0.1.
const pinnedSlots: ReadonlyArray<readonly [string, number]> = [
  ["foo", 995],
  ["bar", 15127],
  ["baz", 4453],
  ["apple", 7961],
  ["", 79],
  ["1", 3041],
  ["true", 7202],
  ["1footrue", 3273],
  ["hello", 3304],
  ["user:1000", 2051],
  ["caf\xe9", 11350],
  ["\xff\x00\x80", 8575],
  ["k".repeat(250), 4826],
];

const pinnedSlot = test.macro({
  exec(t, key: string, slot: number) {
    t.is(slotOf(key), slot);
    t.is(slotOf(Buffer.from(key, "latin1")), slot);
  },
  title: (_provided, key: string) =>
    `key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 3)}... (${key.length} chars)` : key)} keeps its slot`,
});

for (const [key, slot] of pinnedSlots) test(pinnedSlot, key, slot);

test("the slot is the published fingerprint mod 16384", (t) => {
  t.is(slotCount, 16384);
  for (const [key, fingerprint] of publishedFingerprints) {
    t.is(slotOf(key), Number(fingerprint % 16384n), JSON.stringify(key));
  }
});

test("a key is hashed as its bytes: latin1 chars above 0x7f are one byte each, not UTF-8", (t) => {
  const key = "caf\xe9";
  t.is(slotOf(key), slotOf(Buffer.from([0x63, 0x61, 0x66, 0xe9])));
  t.not(slotOf(key), slotOf(Buffer.from(key, "utf8")), "the UTF-8 bytes are a different key");
});

test("a Uint8Array view hashes like a Buffer of the same bytes", (t) => {
  const backing = new Uint8Array([0, 0, 0x66, 0x6f, 0x6f, 0]);
  t.is(slotOf(backing.subarray(2, 5)), 995);
});

const keyCount = 200_000;

test("random keys spread evenly over slots and over 16 even groups", (t) => {
  const seed = testSeed(0x5107);
  const keys = randomKeys(seed, keyCount);
  assertEvenSpread(t, keys, `random keys, SEED=${seed}`);
});

test("sequential keys (user:0, user:1, ...) spread evenly over slots and over 16 even groups", (t) => {
  const keys = Array.from({ length: keyCount }, (_, index) => `user:${index}`);
  assertEvenSpread(t, keys, "sequential keys");
});

function assertEvenSpread(
  t: import("ava").ExecutionContext,
  keys: readonly string[],
  what: string,
) {
  const slotCounts = new Array<number>(slotCount).fill(0);
  for (const key of keys) {
    const slot = slotOf(key);
    slotCounts[slot] = slotCounts[slot]! + 1;
  }
  const perSlot = keys.length / slotCount;
  const slots = chiSquare(slotCounts, new Array<number>(slotCount).fill(perSlot));
  t.log(
    `${what}: ${keys.length} keys, ${perSlot.toFixed(1)} per slot, min ${Math.min(...slotCounts)}, ` +
      `max ${Math.max(...slotCounts)}, chi-square ${slots.statistic.toFixed(0)} (df ${slotCount - 1}, bound ${slots.bound.toFixed(0)})`,
  );
  t.true(
    slots.statistic < slots.bound,
    `${what}: slot chi-square ${slots.statistic} >= ${slots.bound}`,
  );
  t.true(
    slots.statistic > 2 * (slotCount - 1) - slots.bound,
    `${what}: slot chi-square ${slots.statistic} is too even to be a hash`,
  );

  const table = new SlotTable(evenSlotMap(16));
  const groupCounts = new Array<number>(16).fill(0);
  for (const key of keys) {
    const groupId = table.groupOfKey(key);
    groupCounts[groupId] = groupCounts[groupId]! + 1;
  }
  const perGroup = keys.length / 16;
  const deviations = groupCounts.map((count) => Math.abs(count - perGroup) / perGroup);
  const worst = Math.max(...deviations);
  t.log(
    `${what}: 16 groups, ${perGroup} keys each expected, worst deviation ${(worst * 100).toFixed(2)}%`,
  );
  t.true(worst < 0.05, `${what}: a group is ${(worst * 100).toFixed(2)}% off its share`);
}
