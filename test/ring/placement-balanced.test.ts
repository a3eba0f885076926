import test from "ava";
import {
  diffPlacements,
  evenOutPlacement,
  groupIdsUpTo,
  type PlacementNode,
  placeGroups,
  replicaCounts,
} from "../../src/ring/placement.js";
import { nodesNamed } from "./fixtures.js";

const replicationFactor = 3;
const groupCounts = [16, 64, 256];
/** Cluster sizes to grow from (n -> n+1) and shrink from (n+1 -> n by draining). */
const sizes = [3, 4, 5, 8, 12];

/** The placement a cluster is founded with: evened out from nothing. */
function founding(groupCount: number, nodes: readonly PlacementNode[], rf = replicationFactor) {
  return evenOutPlacement(new Map(), groupIdsUpTo(groupCount), nodes, rf);
}

function counts(groupCount: number, nodes: readonly PlacementNode[]): number[] {
  const placement = founding(groupCount, nodes);
  return [...replicaCounts(placement, nodes).values()];
}

test("pinned: the balanced placement of a small cluster never changes", (t) => {
  t.deepEqual(
    [...founding(6, nodesNamed(4))],
    [...founding(6, nodesNamed(4).reverse())],
    "the order of nodes does not matter",
  );
  t.snapshot([...founding(8, nodesNamed(5))]);
});

test("every node holds its share of replicas, within one", (t) => {
  for (const groupCount of groupCounts) {
    for (const size of sizes) {
      const share = (replicationFactor * groupCount) / size;
      for (const count of counts(groupCount, nodesNamed(size))) {
        t.true(
          count <= Math.ceil(share) && count >= Math.floor(share) - 1,
          `${groupCount} groups on ${size} nodes: a node holds ${count}, share ${share.toFixed(1)}`,
        );
      }
    }
  }
});

test("far more even than plain rendezvous where groups are few", (t) => {
  const nodes = nodesNamed(9);
  const spread = (placement: Map<number, readonly string[]>) => {
    const loads = [...replicaCounts(placement, nodes).values()];
    return Math.max(...loads) - Math.min(...loads);
  };
  const plain = spread(placeGroups(groupIdsUpTo(16), nodes, 3));
  const balanced = spread(founding(16, nodes));
  t.true(balanced <= 1, `balanced spread ${balanced}`);
  t.true(plain > balanced, `plain spread ${plain}, balanced ${balanced}`);
});

test("a new node takes about its share, from every old node, and little else moves", (t) => {
  for (const groupCount of groupCounts) {
    for (const size of sizes) {
      const before = founding(groupCount, nodesNamed(size));
      const after = evenOutPlacement(before, groupIdsUpTo(groupCount), nodesNamed(size + 1), 3);
      const share = (replicationFactor * groupCount) / (size + 1);
      const changes = diffPlacements(before, after);
      const where = `${groupCount} groups, ${size} -> ${size + 1} nodes`;
      const arriving = changes.filter(
        (change) => change.kind === "move" && change.to === `n${size + 1}`,
      );
      t.true(
        arriving.length >= Math.floor(share) - 1,
        `${where}: new node got ${arriving.length}, share ${share.toFixed(1)}`,
      );
      // Only the new node's share moves.
      t.true(
        changes.length <= Math.ceil(share),
        `${where}: ${changes.length} moves for a share of ${share.toFixed(1)}`,
      );
      const lost = new Map<string, number>();
      for (const change of arriving) {
        if (change.kind === "move") lost.set(change.from, (lost.get(change.from) ?? 0) + 1);
      }
      const each = share / size;
      for (const [node, count] of lost) {
        t.true(
          count <= Math.ceil(each) + 1,
          `${where}: ${node} gave ${count}, an even share is ${each.toFixed(1)}`,
        );
      }
    }
  }
});

test("draining a node moves its replicas and at most one more, evenly", (t) => {
  for (const groupCount of groupCounts) {
    for (const size of sizes) {
      const nodes = nodesNamed(size + 1);
      const before = founding(groupCount, nodes);
      const drained = nodes.map((node, index) =>
        index === 2 ? { ...node, draining: true } : node,
      );
      const after = evenOutPlacement(before, groupIdsUpTo(groupCount), drained, 3);
      const held = replicaCounts(before, nodes).get("n3")!;
      const changes = diffPlacements(before, after);
      const where = `${groupCount} groups, draining 1 of ${size + 1}`;
      t.is(replicaCounts(after, drained).get("n3"), 0, `${where}: the draining node is emptied`);
      // At most one swap evens out what the drained replicas left uneven.
      t.true(changes.length <= held + 1, `${where}: ${changes.length} moves for ${held} replicas`);
      const loads = [...replicaCounts(after).entries()]
        .filter(([id]) => id !== "n3")
        .map(([, load]) => load);
      t.true(Math.max(...loads) - Math.min(...loads) <= 1, `${where}: loads ${loads}`);
    }
  }
});

test("weights shift the shares, and no node exceeds its weighted cap", (t) => {
  const nodes = nodesNamed(4, [1, 1, 2, 1]);
  const loads = replicaCounts(founding(64, nodes, 2), nodes);
  const share = (weight: number) => (2 * 64 * weight) / 5;
  for (const [index, id] of ["n1", "n2", "n3", "n4"].entries()) {
    const weight = index === 2 ? 2 : 1;
    t.true(
      Math.abs(loads.get(id)! - share(weight)) < 1.5,
      `${id}: ${loads.get(id)} for ${share(weight)}`,
    );
  }
});

test("a weight no placement can honour still places every replica", (t) => {
  const nodes = nodesNamed(3, [100, 1, 1]);
  for (const replicas of founding(16, nodes).values()) t.is(new Set(replicas).size, 3);
});

test("an evened-out placement stays put when nothing changes", (t) => {
  for (const groupCount of groupCounts) {
    const nodes = nodesNamed(5);
    const placement = founding(groupCount, nodes);
    t.deepEqual(evenOutPlacement(placement, groupIdsUpTo(groupCount), nodes, 3), placement);
  }
});

test("a change of replication factor adds or drops one replica per group", (t) => {
  const nodes = nodesNamed(5);
  const three = founding(16, nodes);
  const four = evenOutPlacement(three, groupIdsUpTo(16), nodes, 4);
  for (const change of diffPlacements(three, four)) t.is(change.kind, "add");
  t.is(diffPlacements(three, four).length, 16);
  const back = evenOutPlacement(four, groupIdsUpTo(16), nodes, 3);
  t.is(diffPlacements(four, back).length, 16);
});
