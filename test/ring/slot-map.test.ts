import test from "ava";
import fc from "fast-check";
import { groupIdMax, slotCount } from "../../src/ring/limits.js";
import { slotOf } from "../../src/ring/slot.js";
import {
  checkSlotMap,
  evenSlotMap,
  type SlotMap,
  type SlotRange,
  SlotTable,
  slotMapDefect,
} from "../../src/ring/slot-map.js";
import { MemraftError } from "../../src/util/errors.js";
import { runs } from "../helpers/property.js";
import { slotMapArbitrary } from "./fixtures.js";

const evenLayout = test.macro({
  exec(t, groupCount: number) {
    const map = evenSlotMap(groupCount);
    t.is(map.epoch, 1);
    t.is(slotMapDefect(map), undefined);
    t.deepEqual(
      map.ranges.map((range) => range.groupId),
      Array.from({ length: groupCount }, (_, groupId) => groupId),
    );
    const sizes = map.ranges.map((range) => range.lastSlot - range.firstSlot + 1);
    t.true(
      Math.max(...sizes) - Math.min(...sizes) <= 1,
      `sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`,
    );
  },
  title: (_provided, groupCount: number) =>
    `an even layout of ${groupCount} groups gives each a range, sizes within one slot`,
});

for (const groupCount of [1, 3, 16, 64, 1000, slotCount]) test(evenLayout, groupCount);

test("the even layout of 3 groups is pinned", (t) => {
  t.deepEqual(evenSlotMap(3, 7), {
    epoch: 7,
    ranges: [
      { firstSlot: 0, lastSlot: 5460, groupId: 0 },
      { firstSlot: 5461, lastSlot: 10921, groupId: 1 },
      { firstSlot: 10922, lastSlot: 16383, groupId: 2 },
    ],
  });
});

test("a slot table names each group of its map once, ascending", (t) => {
  const table = new SlotTable({
    epoch: 2,
    ranges: [
      { firstSlot: 0, lastSlot: 99, groupId: 7 },
      { firstSlot: 100, lastSlot: 199, groupId: 2 },
      { firstSlot: 200, lastSlot: slotCount - 1, groupId: 7 },
    ],
  });
  t.deepEqual(table.groups, [2, 7]);
  t.is(table.groupOfSlot(150), 2);
});

test("an even layout needs 1 to 16384 whole groups", (t) => {
  for (const groupCount of [0, -1, 1.5, slotCount + 1, Number.NaN]) {
    const error = t.throws(() => evenSlotMap(groupCount), { message: /from 1 to 16384 groups/ });
    t.true(MemraftError.is(error, "ERR_CONFIG"));
  }
});

const range = (firstSlot: number, lastSlot: number, groupId: number): SlotRange => ({
  firstSlot,
  lastSlot,
  groupId,
});
const last = slotCount - 1;

const invalidLayout = test.macro({
  exec(t, _what: string, map: SlotMap, reason: RegExp, groupIds?: ReadonlySet<number>) {
    const options = groupIds === undefined ? {} : { groupIds };
    t.regex(slotMapDefect(map, options) ?? "(valid)", reason);
    const error = t.throws(() => checkSlotMap(map, options));
    t.true(MemraftError.is(error, "ERR_CONFIG"));
    t.regex(error?.message ?? "", reason);
    t.regex(error?.message ?? "", new RegExp(`epoch ${map.epoch}`));
  },
  title: (_provided, what: string) => `a slot map with ${what} is rejected, saying why`,
});

test(invalidLayout, "no ranges", { epoch: 1, ranges: [] }, /has no ranges/);
test(
  invalidLayout,
  "epoch 0",
  { epoch: 0, ranges: [range(0, last, 0)] },
  /epoch must be .* >= 1, got 0/,
);
test(
  invalidLayout,
  "an epoch past 2^53",
  { epoch: 2 ** 53, ranges: [range(0, last, 0)] },
  /epoch must be a safe integer/,
);
test(
  invalidLayout,
  "a gap",
  { epoch: 1, ranges: [range(0, 99, 0), range(101, last, 1)] },
  /range 1 \(slots 101-16383 -> group 1\) leaves slots 100-100 without a group/,
);
test(
  invalidLayout,
  "an overlap",
  { epoch: 1, ranges: [range(0, 100, 0), range(100, last, 1)] },
  /range 1 .* overlaps the range before it, which ends at slot 100/,
);
test(
  invalidLayout,
  "ranges out of order",
  { epoch: 1, ranges: [range(100, last, 1), range(0, 99, 0)] },
  /range 0 .* leaves slots 0-99 without a group/,
);
test(
  invalidLayout,
  "slots missing at the end",
  { epoch: 1, ranges: [range(0, 99, 0), range(100, last - 1, 1)] },
  /ends at slot 16382; slots 16383-16383 have no group/,
);
test(
  invalidLayout,
  "a slot past the last",
  { epoch: 1, ranges: [range(0, 99, 0), range(100, slotCount, 1)] },
  /goes past the last slot, 16383/,
);
test(
  invalidLayout,
  "a negative slot",
  { epoch: 1, ranges: [range(-1, last, 0)] },
  /starts before slot 0/,
);
test(
  invalidLayout,
  "a range that ends before it starts",
  { epoch: 1, ranges: [range(0, 99, 0), range(100, 50, 1), range(51, last, 2)] },
  /range 1 .* ends before it starts/,
);
test(
  invalidLayout,
  "a fractional slot",
  { epoch: 1, ranges: [range(0, 99.5, 0), range(100, last, 1)] },
  /not an integer/,
);
test(
  invalidLayout,
  "a group id past the largest",
  { epoch: 1, ranges: [range(0, last, groupIdMax + 1)] },
  /group id 65536; group ids are integers from 0 to 65535/,
);
test(
  invalidLayout,
  "a negative group id",
  { epoch: 1, ranges: [range(0, last, -1)] },
  /group id -1/,
);
test(
  invalidLayout,
  "two neighbouring ranges of one group",
  { epoch: 1, ranges: [range(0, 99, 4), range(100, last, 4)] },
  /belongs to group 4 like the range before it/,
);
test(
  invalidLayout,
  "a group that is not known",
  evenSlotMap(4),
  /range 3 .* group 3, which is not a known group/,
  new Set([0, 1, 2]),
);

test("a group may own ranges that are not neighbours", (t) => {
  const map = { epoch: 2, ranges: [range(0, 9, 0), range(10, 19, 1), range(20, last, 0)] };
  t.is(checkSlotMap(map, { groupIds: new Set([0, 1]) }), map);
});

test("the slot table finds every slot's group, as a search of the ranges does", (t) => {
  fc.assert(
    fc.property(slotMapArbitrary, fc.integer({ min: 0, max: last }), (map, slot) => {
      const table = new SlotTable(map);
      const owner = map.ranges.find((r) => r.firstSlot <= slot && slot <= r.lastSlot);
      t.is(table.groupOfSlot(slot), owner!.groupId);
      t.is(table.groupOfSlot(owner!.firstSlot), owner!.groupId);
      t.is(table.groupOfSlot(owner!.lastSlot), owner!.groupId);
      t.is(table.epoch, map.epoch);
    }),
    { numRuns: runs(200) },
  );
});

test("the slot table routes a key to the group owning its slot", (t) => {
  const table = new SlotTable(evenSlotMap(3));
  t.is(slotOf("foo"), 995);
  t.is(table.groupOfKey("foo"), 0);
  t.is(slotOf("user:1000"), 2051);
  t.is(table.groupOfKey("user:1000"), 0);
  t.is(slotOf("caf\xe9"), 11350);
  t.is(table.groupOfKey("caf\xe9"), 2);
  t.is(slotOf("apple"), 7961);
  t.is(table.groupOfKey(Buffer.from("apple")), 1);
});

test("a slot outside 0..16383 is a bug, not a group", (t) => {
  const table = new SlotTable(evenSlotMap(2));
  for (const slot of [-1, slotCount, 0.5]) {
    t.throws(() => table.groupOfSlot(slot), { name: "AssertionError" });
  }
});
