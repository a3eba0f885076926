import test from "ava";
import type { GroupReplicas } from "../../src/cluster/metadata.js";
import type { CommittedConfig, Topology, TopologyNode } from "../../src/cluster/topology.js";
import { topologyDigest } from "../../src/cluster/topology.js";
import { topologyChangeProblems } from "../../src/cluster/topology-change.js";

function node(id: string, extra: Partial<TopologyNode> = {}): TopologyNode {
  const index = Number(id.slice(1));
  return {
    id,
    client: { host: "127.0.0.1", port: 11210 + index },
    peer: { host: "127.0.0.1", port: 11310 + index },
    weight: 1,
    draining: false,
    ...extra,
  };
}

function topology(nodes: TopologyNode[], changes: Partial<Topology> = {}): Topology {
  return {
    name: "demo",
    groups: 4,
    replicationFactor: 3,
    rebalance: { movesMax: 4, snapshotsPerNodeMax: 1 },
    nodes,
    ...changes,
  };
}

const committed: CommittedConfig = {
  version: 3,
  topology: topology([node("n1"), node("n2"), node("n3"), node("n4")]),
  retired: ["n0"],
};

/** n1..n3 hold groups 0-2; n4 holds group 3 with n1 and n2. */
const replicas = new Map<number, GroupReplicas>([
  [0, { voters: ["n1", "n2", "n3"], learners: [] }],
  [1, { voters: ["n1", "n2", "n3"], learners: [] }],
  [2, { voters: ["n1", "n2", "n3"], learners: [] }],
  [3, { voters: ["n1", "n2", "n4"], learners: [] }],
]);

test("adding a node, draining one, changing weights or addresses are accepted", (t) => {
  const nodes = [
    node("n1"),
    node("n2", { weight: 2 }),
    node("n3", { draining: true }),
    node("n4"),
    node("n5"),
  ];
  t.deepEqual(topologyChangeProblems(committed, topology(nodes), replicas), []);
  const moved = [
    node("n1", { peer: { host: "10.0.0.1", port: 1 } }),
    node("n2"),
    node("n3"),
    node("n4"),
  ];
  t.deepEqual(topologyChangeProblems(committed, topology(moved), replicas), []);
});

test("deleting a node that holds no replica is accepted", (t) => {
  const emptied = new Map(replicas);
  emptied.set(3, { voters: ["n1", "n2", "n3"], learners: [] });
  t.deepEqual(
    topologyChangeProblems(committed, topology([node("n1"), node("n2"), node("n3")]), emptied),
    [],
  );
});

test("what cannot change once the cluster exists is refused, with the reason", (t) => {
  const nodes = committed.topology.nodes as TopologyNode[];
  t.regex(
    topologyChangeProblems(committed, topology(nodes, { name: "other" }), replicas).join(),
    /cluster is "demo"/,
  );
  t.regex(
    topologyChangeProblems(committed, topology(nodes, { groups: 8 }), replicas).join(),
    /cluster.groups cannot change/,
  );
});

test("a retired id cannot come back", (t) => {
  const problems = topologyChangeProblems(
    committed,
    topology([...(committed.topology.nodes as TopologyNode[]), node("n0")]),
    replicas,
  );
  t.deepEqual(problems, ["node id n0 belonged to a node that was removed; ids are never reused"]);
});

test("deleting a node that holds replicas is refused, naming its groups and the way to do it", (t) => {
  const problems = topologyChangeProblems(
    committed,
    topology([node("n1"), node("n2"), node("n3")]),
    replicas,
  );
  t.deepEqual(problems, [
    'node n4 still holds replicas of group(s) 3: mark it "draining: true", apply, wait until the rebalance finishes, then delete it',
  ]);
});

test("deleting two voters of one group at once is refused as such, and as a loss of quorum", (t) => {
  const problems = topologyChangeProblems(
    committed,
    topology([node("n3"), node("n4"), node("n5")]),
    replicas,
  );
  t.true(
    problems.some((problem) => /group 0 would lose 2 voters at once \(n1, n2\)/.test(problem)),
  );
  t.true(
    problems.some((problem) =>
      /group 0 would drop below quorum \(1 of 3 voters left\)/.test(problem),
    ),
  );
});

test("draining so many nodes that too few remain for the replication factor is refused", (t) => {
  const nodes = [
    node("n1", { draining: true }),
    node("n2", { draining: true }),
    node("n3"),
    node("n4"),
  ];
  t.regex(
    topologyChangeProblems(committed, topology(nodes), replicas).join(),
    /replication factor 3 needs/,
  );
});

test("a topology's digest ignores node order and sees every shared setting", (t) => {
  const nodes = committed.topology.nodes as TopologyNode[];
  t.is(topologyDigest(topology(nodes)), topologyDigest(topology([...nodes].reverse())));
  t.not(topologyDigest(topology(nodes)), topologyDigest(topology(nodes, { replicationFactor: 2 })));
  t.not(
    topologyDigest(topology(nodes)),
    topologyDigest(topology([node("n1", { weight: 2 }), ...nodes.slice(1)])),
  );
});
