import test from "ava";
import { nodeById, parseClusterConfig } from "../../src/cluster/config.js";
import { MemraftError } from "../../src/util/errors.js";

const threeNodes = `
version: 1
cluster:
  name: demo
  groups: 4
  replication_factor: 3
defaults:
  data_dir: /var/lib/memraft/\${id}
nodes:
  - id: n1
    client: 127.0.0.1:11211
    peer: 127.0.0.1:11311
  - id: n2
    client: 127.0.0.2:11211
    peer: 127.0.0.2:11311
  - id: n3
    client: 127.0.0.3:11211
    peer: 127.0.0.3:11311
    data_dir: /disks/n3
    weight: 2
`;

test("a valid cluster file gives every node its settings", (t) => {
  const config = parseClusterConfig("cluster.yaml", threeNodes);
  t.is(config.name, "demo");
  t.is(config.groups, 4);
  t.is(config.replicationFactor, 3);
  t.deepEqual(
    config.nodes.map((node) => [
      node.id,
      node.client.host,
      node.peer.port,
      node.dataDir,
      node.weight,
    ]),
    [
      ["n1", "127.0.0.1", 11311, "/var/lib/memraft/n1", 1],
      ["n2", "127.0.0.2", 11311, "/var/lib/memraft/n2", 1],
      ["n3", "127.0.0.3", 11311, "/disks/n3", 2],
    ],
  );
  t.is(nodeById(config, "n2", "cluster.yaml").client.host, "127.0.0.2");
});

function problems(contents: string): string {
  const error = (() => {
    try {
      parseClusterConfig("cluster.yaml", contents);
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  if (!MemraftError.is(error, "ERR_CONFIG")) throw new Error("expected a config error");
  return error.message;
}

test("bad YAML is reported with the file name", (t) => {
  t.regex(problems("version: 1\nnodes: [\n"), /^cluster\.yaml is not valid YAML/);
});

test("every problem in the file is reported at once, with where it is", (t) => {
  const message = problems(`
version: 1
cluster:
  replication_factor: 3
  shards: 2
nodes:
  - id: n1
    client: 127.0.0.1:11211
    peer: 127.0.0.1:11311
  - id: n1
    client: 127.0.0.1:11211
    peer: nowhere
`);
  t.regex(message, /cluster\.shards: unknown setting/);
  t.regex(message, /nodes\[1\]\.id: duplicate node id n1 \(also nodes\[0\]\.id\)/);
  t.regex(message, /nodes\[1\]\.client: duplicate address 127\.0\.0\.1:11211/);
  t.regex(message, /nodes\[1\]\.peer: must be host:port/);
  t.regex(message, /replication_factor: 3 needs at least that many nodes/);
});

test("an unknown node id names the ids the file has", (t) => {
  const config = parseClusterConfig("cluster.yaml", threeNodes);
  t.throws(() => nodeById(config, "n9", "cluster.yaml"), {
    message: 'cluster.yaml has no node "n9" (it lists: n1, n2, n3)',
  });
});

test("the file must say its format version and list nodes", (t) => {
  t.regex(problems("cluster:\n  name: x\n"), /version: must be 1/);
  t.regex(problems("version: 1\n"), /nodes: must list at least one node/);
});
