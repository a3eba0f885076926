import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { RawClient } from "../helpers/raw-client.js";
import { waitFor, waitForPort } from "../helpers/wait.js";

const bin = join(process.cwd(), "bin", "memraft");

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A base port whose `count` successors, and those 100 above, are all free. */
async function freeRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ports = Array.from({ length: count }, (_, i) => [base + i, base + 100 + i]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error("no free run of ports");
}

test("memraft local starts a cluster whose nodes all serve every key", async (t) => {
  t.timeout(60_000);
  const base = await freeRun(3);
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-local-"));
  const child = spawn(
    process.execPath,
    [bin, "local", "--nodes", "3", "-p", String(base), "--data-dir", dataDir],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  t.teardown(() => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  let banner = "";
  child.stderr.on("data", (chunk: Buffer) => {
    banner += chunk.toString();
  });
  for (let i = 0; i < 3; i++) await waitForPort(base + i, 20_000);
  await waitFor("the banner", () => banner.includes("Press Ctrl-C"), 10_000);
  t.regex(banner, new RegExp(`n3  memcached at 127\\.0\\.0\\.1:${base + 2}`));
  const first = await RawClient.connect(base);
  t.is(await first.request("set shared 0 0 2\r\nok\r\n"), "STORED\r\n");
  const third = await RawClient.connect(base + 2);
  t.is(await third.request("get shared\r\n", "END\r\n"), "VALUE shared 0 2\r\nok\r\nEND\r\n");
  first.close();
  third.close();
  child.kill("SIGINT");
  const [code] = (await once(child, "exit")) as [number | null];
  t.is(code, 0);
});

test("a bad cluster file is reported before anything starts", (t) => {
  const directory = mkdtempSync(join(tmpdir(), "memraft-config-"));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const file = join(directory, "cluster.yaml");
  const run = (contents: string, node: string) => {
    writeFileSync(file, contents);
    return spawnSync(process.execPath, [bin, "start", "--config", file, "--node", node], {
      encoding: "utf8",
    });
  };
  const good =
    "version: 1\ncluster:\n  replication_factor: 1\nnodes:\n  - id: n1\n    client: 127.0.0.1:1\n    peer: 127.0.0.1:2\n";
  const unknown = run(good, "n9");
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /has no node "n9" \(it lists: n1\)/);
  const badYaml = run("version: 1\nnodes: [\n", "n1");
  t.is(badYaml.status, 2);
  t.regex(badYaml.stderr, /is not valid YAML/);
  const duplicate = run(
    `${good}  - id: n2\n    client: 127.0.0.1:1\n    peer: 127.0.0.1:3\n`,
    "n1",
  );
  t.is(duplicate.status, 2);
  t.regex(duplicate.stderr, /duplicate address 127\.0\.0\.1:1/);
});
