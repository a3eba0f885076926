import test from "ava";
import fc from "fast-check";
import { negativeLn, rendezvousScore, scoreInput } from "../../src/ring/rendezvous-score.js";
import { runs } from "../helpers/property.js";

const twoTo53 = 2 ** 53;
const oddBelow2To53 = fc.nat({ max: 2 ** 52 - 1 }).map((half) => 2 * half + 1);

test("negativeLn agrees with -Math.log to a few units in the last place", (t) => {
  fc.assert(
    fc.property(oddBelow2To53, (x) => {
      const expected = -Math.log(x / twoTo53);
      const error = Math.abs(negativeLn(x) - expected) / expected;
      t.true(error < 4 * Number.EPSILON, `x ${x}: ${negativeLn(x)} vs ${expected}`);
    }),
    { numRuns: runs(20_000) },
  );
});

// Pinned bits: these come from + - * / alone, so every IEEE 754 machine
// computes exactly these doubles. A change means replicas would move.
const pinnedLn: ReadonlyArray<readonly [number, number]> = [
  [1, 36.7368005696771],
  [3, 35.638188281008986],
  [2 ** 52 - 1, 0.6931471805599455],
  [2 ** 52 + 1, 0.6931471805599451],
  [2 ** 53 - 1, 1.1102230246251565e-16],
  [6004799503160661, 0.4054651081081644],
];

test("negativeLn gives pinned doubles at the edges and between", (t) => {
  for (const [x, expected] of pinnedLn) t.is(negativeLn(x), expected, `x ${x}`);
});

test("negativeLn is positive over its whole domain, ends included", (t) => {
  t.true(negativeLn(twoTo53 - 1) > 0);
  t.true(negativeLn(1) < 37);
});

test("scores are pinned for a few (group, node, weight)", (t) => {
  t.is(rendezvousScore(0, "n1", 1), 7.037944674252939);
  t.is(rendezvousScore(5, "n2", 2.5), 9.808614803815196);
  t.is(rendezvousScore(65535, "node-a", 1), 1.763100092867653);
});

test("a score scales with the weight and nothing else", (t) => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffff }), fc.integer({ min: 2, max: 100 }), (groupId, weight) => {
      const ratio = rendezvousScore(groupId, "n7", weight) / rendezvousScore(groupId, "n7", 1);
      t.true(Math.abs(ratio - weight) <= weight * 4 * Number.EPSILON, `ratio ${ratio}`);
    }),
    { numRuns: runs(200) },
  );
});

test("the hashed bytes are the group as u32 little-endian, then the node id", (t) => {
  t.is(scoreInput(0x0102, "n1").toString("hex"), "020100006e31");
  t.throws(() => scoreInput(0x10000, "n1"), { name: "AssertionError" });
  t.throws(() => scoreInput(0, ""), { name: "AssertionError" });
});
