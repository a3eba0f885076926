import test from "ava";
import { renderStatus } from "../../src/cli/status-view.js";
import type { ClusterStatus } from "../../src/cluster/cluster-status.js";

const status: ClusterStatus = {
  node: "n2",
  config: { version: 5, digest: "00ff00ff00ff00ff", name: "demo", groups: 2, replicationFactor: 2 },
  nodes: [
    {
      id: "n1",
      client: "10.0.0.1:11211",
      peer: "10.0.0.1:11311",
      weight: 1,
      draining: true,
      reachable: true,
      fileMatchesCommitted: true,
      replicas: 1,
      leaders: 0,
    },
    {
      id: "n2",
      client: "10.0.0.2:11211",
      peer: "10.0.0.2:11311",
      weight: 2,
      draining: false,
      reachable: true,
      fileMatchesCommitted: false,
      replicas: 2,
      leaders: 2,
    },
    {
      id: "n3",
      client: "10.0.0.3:11211",
      peer: "10.0.0.3:11311",
      weight: 1,
      draining: false,
      reachable: false,
      fileMatchesCommitted: null,
      replicas: 2,
      leaders: 0,
    },
  ],
  groups: [
    {
      id: "0",
      slots: ["0-8191"],
      voters: ["n2", "n3"],
      learners: [],
      leader: "n2",
      term: 3,
      commit: 90,
      lag: { n2: 0, n3: 7 },
      quiet: false,
    },
    {
      id: "meta",
      slots: [],
      voters: ["n1", "n2"],
      learners: ["n3"],
      leader: null,
      term: 0,
      commit: 0,
      lag: {},
      quiet: false,
    },
  ],
  rebalance: {
    configVersion: 5,
    planned: 4,
    done: 1,
    inFlight: [
      {
        groupId: 65535,
        kind: "move",
        from: "n1",
        to: "n3",
        phase: "catching-up",
        startedAtMs: 0,
        waiting: "learner at 10 of 90",
      },
    ],
    startedAtMs: 1_000,
    finishedAtMs: null,
  },
  warnings: ["node n3 does not answer"],
};

test("status shows nodes, groups, a rebalance's progress and what needs attention", (t) => {
  const text = renderStatus(status, 31_000);
  t.regex(
    text,
    /^cluster demo: configuration 5 \(00ff00ff00ff00ff\), 2 groups, replication factor 2 {2}\[seen from n2\]$/m,
  );
  t.regex(text, /^n1 +10\.0\.0\.1:11211 +10\.0\.0\.1:11311 +1 +draining +1 +0 +same$/m);
  t.regex(text, /^n2 .* up +2 +2 +DIFFERS$/m);
  t.regex(text, /^n3 .* DOWN +2 +0 +\?$/m);
  t.regex(text, /^0 +0-8191 +n2 +n2,n3 +- +7 +active$/m);
  t.regex(text, /^meta +- +NONE +n1,n2 +n3 +\? +-$/m);
  t.regex(text, /^rebalance to configuration 5: \[#{8}-{22}\] 1\/4 moves, in progress, 30 s$/m);
  t.regex(text, /^ {2}group meta: n1 -> n3, catching-up \(learner at 10 of 90\)$/m);
  t.regex(text, /^warnings:\n {2}node n3 does not answer$/m);
});

test("a finished rebalance shows a full bar and its duration", (t) => {
  const done = {
    ...status,
    rebalance: { ...status.rebalance!, done: 4, inFlight: [], finishedAtMs: 13_000 },
  };
  t.regex(renderStatus(done, 99_000), /\[#{30}\] 4\/4 moves, done, 12 s/);
});

test("an idle group whose leader went quiet shows as quiet", (t) => {
  const idle = { ...status, groups: [{ ...status.groups[0]!, quiet: true }] };
  t.regex(renderStatus(idle, 31_000), /^0 +0-8191 +n2 +n2,n3 +- +7 +quiet$/m);
});
