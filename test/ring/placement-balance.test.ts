// Measures how evenly placement spreads replicas and how many move when the
// cluster changes. Placement is deterministic, so these are measurements of
// fixed inputs (node ids n1..n10, group ids 0..G-1); the bounds are the ones
// a fair random assignment meets with overwhelming probability, so a biased
// or broken score fails them while the natural spread of rendezvous hashing
// passes. Figures are logged (npx ava --verbose) for the report.

import test, { type ExecutionContext } from "ava";
import {
  diffPlacements,
  groupIdsUpTo,
  type PlacementNode,
  placeGroups,
  type ReplicaChange,
  replicaCounts,
} from "../../src/ring/placement.js";
import { chiSquare, nodesNamed } from "./fixtures.js";

const replicationFactor = 3;

/** Binomial standard deviation of a count over `trials` with probability `p`. */
function deviation(trials: number, p: number): number {
  return Math.sqrt(trials * p * (1 - p));
}

/** Sums chi-square statistics of several independent measurements. */
class ChiSquareTotal {
  statistic = 0;
  degrees = 0;

  add(counts: readonly number[], expected: readonly number[]): void {
    if (counts.length < 2) return;
    this.statistic += chiSquare(counts, expected).statistic;
    this.degrees += counts.length - 1;
  }

  check(t: ExecutionContext, what: string): void {
    const bound = this.degrees + 5 * Math.sqrt(2 * this.degrees);
    t.log(
      `${what}: chi-square ${this.statistic.toFixed(1)}, df ${this.degrees}, bound ${bound.toFixed(1)}`,
    );
    t.true(this.statistic < bound, `${what}: chi-square ${this.statistic} >= ${bound}`);
  }
}

function countBy(changes: readonly ReplicaChange[], side: "from" | "to"): Map<string, number> {
  const counts = new Map<string, number>();
  for (const change of changes) {
    if (change.kind !== "move") continue;
    counts.set(change[side], (counts.get(change[side]) ?? 0) + 1);
  }
  return counts;
}

test("replicas spread over nodes about equally (16, 64, 256 groups; RF 3; 3 to 10 nodes)", (t) => {
  const total = new ChiSquareTotal();
  for (const groupCount of [16, 64, 256]) {
    const lines: string[] = [];
    for (let nodeCount = 3; nodeCount <= 10; nodeCount++) {
      const nodes = nodesNamed(nodeCount);
      const counts = [
        ...replicaCounts(
          placeGroups(groupIdsUpTo(groupCount), nodes, replicationFactor),
          nodes,
        ).values(),
      ];
      const mean = (groupCount * replicationFactor) / nodeCount;
      const slack = 4 * deviation(groupCount, replicationFactor / nodeCount) + 1;
      for (const [index, count] of counts.entries()) {
        t.true(
          Math.abs(count - mean) <= slack,
          `G=${groupCount} n=${nodeCount}: n${index + 1} holds ${count}, mean ${mean}`,
        );
      }
      total.add(
        counts,
        counts.map(() => mean),
      );
      lines.push(
        `n=${nodeCount}: mean ${mean.toFixed(1)}, min ${Math.min(...counts)}, max ${Math.max(...counts)}`,
      );
    }
    t.log(`G=${groupCount}, RF 3 -- ${lines.join("; ")}`);
  }
  total.check(t, "replica counts, all cases");
});

test("adding a node moves about RF*G/(n+1) replicas, all to it, taken about evenly from the others", (t) => {
  const fromTotal = new ChiSquareTotal();
  let movedTotal = 0;
  let idealTotal = 0;
  for (const groupCount of [16, 64, 256]) {
    const groups = groupIdsUpTo(groupCount);
    const lines: string[] = [];
    for (let nodeCount = 3; nodeCount <= 9; nodeCount++) {
      const before = nodesNamed(nodeCount);
      const after = nodesNamed(nodeCount + 1);
      const newcomer = after[nodeCount]!.id;
      const changes = diffPlacements(
        placeGroups(groups, before, replicationFactor),
        placeGroups(groups, after, replicationFactor),
      );
      t.true(changes.every((change) => change.kind === "move" && change.to === newcomer));
      t.is(
        new Set(changes.map((change) => change.groupId)).size,
        changes.length,
        "one move per group at most",
      );
      const ideal = (replicationFactor * groupCount) / (nodeCount + 1);
      const slack = 4 * deviation(groupCount, replicationFactor / (nodeCount + 1)) + 1;
      t.true(
        Math.abs(changes.length - ideal) <= slack,
        `G=${groupCount} n=${nodeCount}+1: ${changes.length} moved`,
      );
      movedTotal += changes.length;
      idealTotal += ideal;
      const from = countBy(changes, "from");
      const fromCounts = before.map((node) => from.get(node.id) ?? 0);
      fromTotal.add(
        fromCounts,
        fromCounts.map(() => changes.length / nodeCount),
      );
      lines.push(
        `${nodeCount}->${nodeCount + 1}: moved ${changes.length} (ideal ${ideal.toFixed(1)}), from [${fromCounts.join(",")}]`,
      );
    }
    t.log(`G=${groupCount}, RF 3 -- ${lines.join("; ")}`);
  }
  t.log(
    `all cases: moved ${movedTotal}, ideal ${idealTotal.toFixed(1)} (${((movedTotal / idealTotal) * 100).toFixed(1)}%)`,
  );
  t.true(Math.abs(movedTotal / idealTotal - 1) < 0.1);
  fromTotal.check(t, "moves taken from each old node, all cases");
});

test("draining or removing a node moves only its replicas, spread over the rest", (t) => {
  const toTotal = new ChiSquareTotal();
  const lines: string[] = [];
  for (const groupCount of [16, 64, 256]) {
    const groups = groupIdsUpTo(groupCount);
    for (let nodeCount = 4; nodeCount <= 10; nodeCount++) {
      const nodes = nodesNamed(nodeCount);
      const current = placeGroups(groups, nodes, replicationFactor);
      const held = replicaCounts(current, nodes);
      for (const leaving of nodes) {
        const drained = nodes.map((node) =>
          node === leaving ? { ...node, draining: true } : node,
        );
        const target = placeGroups(groups, drained, replicationFactor);
        const changes = diffPlacements(current, target);
        t.is(changes.length, held.get(leaving.id)!);
        t.true(changes.every((change) => change.kind === "move" && change.from === leaving.id));
        const to = countBy(changes, "to");
        const rest = nodes.filter((node) => node !== leaving);
        t.deepEqual(placeGroups(groups, rest, replicationFactor), target, "removing = draining");
        const toCounts = rest.map((node) => to.get(node.id) ?? 0);
        toTotal.add(
          toCounts,
          toCounts.map(() => changes.length / rest.length),
        );
        if (leaving.id === "n1" && nodeCount % 3 === 1) {
          lines.push(
            `G=${groupCount} n=${nodeCount}, drain n1: moved ${changes.length}, to [${toCounts.join(",")}]`,
          );
        }
      }
    }
  }
  t.log(lines.join("; "));
  toTotal.check(t, "moves received by each remaining node, all cases");
});

/** Placement of 4096 groups over nodes of `weights`: first replicas and all replicas per node. */
function weightedShares(weights: readonly number[], factor: number) {
  const groupCount = 4096;
  const nodes: PlacementNode[] = nodesNamed(weights.length, weights);
  const placement = placeGroups(groupIdsUpTo(groupCount), nodes, factor);
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const firsts = nodes.map(
    (node) => [...placement.values()].filter((replicas) => replicas[0] === node.id).length,
  );
  const all = [...replicaCounts(placement, nodes).values()];
  const proportional = weights.map((weight) => (groupCount * factor * weight) / weightSum);
  const equal = (groupCount * factor) / weights.length;
  return { firsts, all, proportional, equal, groupCount };
}

function ratios(counts: readonly number[], shares: readonly number[]): string {
  return counts.map((count, index) => (count / shares[index]!).toFixed(2)).join(" ");
}

test("the first replica (preferred leader) of a group lands on nodes in proportion to their weights", (t) => {
  const total = new ChiSquareTotal();
  for (const weights of [
    [1, 1, 1, 2],
    [1, 2, 3, 4, 5, 6, 7, 8],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 3],
    [1, 10],
  ]) {
    const shares = weightedShares(weights, 1);
    t.log(
      `weights [${weights}], 4096 groups: first replicas / proportional share = ${ratios(shares.firsts, shares.proportional)}`,
    );
    total.add(shares.firsts, shares.proportional);
  }
  total.check(t, "first replicas against weight-proportional shares");
});

test("with RF 3, weighted shares lie between equal and proportional, and grow with weight", (t) => {
  for (const weights of [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 3],
    [1, 2, 3, 4, 5, 6, 7, 8],
    [1, 1, 1, 1, 2, 2],
    [1, 1, 1, 2],
  ]) {
    const shares = weightedShares(weights, 3);
    const counts = shares.all;
    t.log(
      `weights [${weights}], RF 3, 4096 groups: replicas / proportional share = ${ratios(counts, shares.proportional)}`,
    );
    for (const [index, count] of counts.entries()) {
      const low = Math.min(shares.proportional[index]!, shares.equal);
      const high = Math.max(shares.proportional[index]!, shares.equal);
      const slack = 4 * deviation(shares.groupCount, count / shares.groupCount) + 1;
      t.true(
        count >= low - slack && count <= high + slack,
        `weights [${weights}]: n${index + 1} holds ${count}, expected ${low.toFixed(0)}..${high.toFixed(0)}`,
      );
      if (index > 0 && weights[index]! > weights[index - 1]!) {
        t.true(
          count > counts[index - 1]!,
          `weights [${weights}]: n${index + 1} holds no more than n${index}`,
        );
      }
    }
  }
});
