// Shared by the ring tests: node lists, fast-check generators for slot maps
// and node sets, a seeded key generator, and the chi-square bound the
// distribution tests use.

import fc from "fast-check";
import { Prng } from "../../src/raft/prng.js";
import { groupIdMax, slotCount } from "../../src/ring/limits.js";
import type { PlacementNode } from "../../src/ring/placement.js";
import type { SlotMap, SlotRange } from "../../src/ring/slot-map.js";

/** Nodes "n1".."n<count>", weight 1 unless `weights` says otherwise. */
export function nodesNamed(count: number, weights: readonly number[] = []): PlacementNode[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `n${index + 1}`,
    weight: weights[index] ?? 1,
    draining: false,
  }));
}

/** The seed of a seeded test: `SEED=` when given, else `fixed`. */
export function testSeed(fixed: number): number {
  return process.env.SEED === undefined ? fixed : Number(process.env.SEED);
}

/** `count` latin1 keys of 1..250 random bytes drawn from `seed`. */
export function randomKeys(seed: number, count: number): string[] {
  const random = new Prng(seed);
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.allocUnsafe(1 + random.int(250));
    for (let j = 0; j < bytes.length; j++) bytes[j] = random.int(256);
    keys.push(bytes.toString("latin1"));
  }
  return keys;
}

/**
 * Pearson's chi-square of `counts` against `expected` per bin, and the
 * largest value a uniform source reaches with probability about 1 - 3e-7
 * (mean df plus five standard deviations, sqrt(2 df)).
 */
export function chiSquare(
  counts: readonly number[],
  expected: readonly number[],
): { statistic: number; bound: number } {
  let statistic = 0;
  for (const [bin, count] of counts.entries()) {
    const mean = expected[bin]!;
    statistic += (count - mean) ** 2 / mean;
  }
  const degrees = counts.length - 1;
  return { statistic, bound: degrees + 5 * Math.sqrt(2 * degrees) };
}

/** Valid slot maps: random cut points, neighbouring ranges of different groups. */
export const slotMapArbitrary: fc.Arbitrary<SlotMap> = fc
  .record({
    epoch: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: slotCount - 1 }), { maxLength: 64 }),
    groupIds: fc.array(fc.integer({ min: 0, max: groupIdMax }), { minLength: 65, maxLength: 65 }),
  })
  .map(({ epoch, cuts, groupIds }) => {
    const starts = [0, ...cuts.sort((a, b) => a - b)];
    const ranges: SlotRange[] = [];
    for (const [index, firstSlot] of starts.entries()) {
      let groupId = groupIds[index]!;
      if (groupId === ranges[index - 1]?.groupId) groupId = (groupId + 1) % (groupIdMax + 1);
      const lastSlot = (starts[index + 1] ?? slotCount) - 1;
      ranges.push({ firstSlot, lastSlot, groupId });
    }
    return { epoch, ranges };
  });

/** 1..12 nodes with unique ids, weights 1..8, some draining. */
export const nodesArbitrary: fc.Arbitrary<PlacementNode[]> = fc.uniqueArray(
  fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/),
    weight: fc.integer({ min: 1, max: 8 }),
    draining: fc.boolean(),
  }),
  { minLength: 1, maxLength: 12, selector: (node) => node.id },
);
