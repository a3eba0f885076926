import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { freePort } from "../helpers/memcached-process.js";
import { RawClient } from "../helpers/raw-client.js";
import { waitForPort } from "../helpers/wait.js";

const bin = join(process.cwd(), "bin", "memraft");

test("memraft start serves clients and stops gracefully on SIGTERM", async (t) => {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "memraft-cli-"));
  const args = [
    bin,
    "start",
    "-p",
    String(port),
    "-c",
    "10",
    "-I",
    "2m",
    "-m",
    "16",
    "--data-dir",
    dataDir,
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  t.teardown(() => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForPort(port, 10_000);
  const client = await RawClient.connect(port);
  t.is(await client.request("set k 0 0 2\r\nhi\r\n"), "STORED\r\n");
  t.is(await client.request("get k\r\n", "END\r\n"), "VALUE k 0 2\r\nhi\r\nEND\r\n");
  const settings = await client.request("stats settings\r\n", "END\r\n");
  t.regex(settings, /STAT item_size_max 2097152\r\n/);
  t.regex(settings, /STAT maxconns 10\r\n/);
  t.regex(settings, /STAT maxbytes 16777216\r\n/);
  client.close();
  child.kill("SIGTERM");
  const [code] = (await once(child, "exit")) as [number | null];
  t.is(code, 0);
  t.regex(output, /"msg":"listening"/);
  t.regex(output, /"msg":"closed"/);
});

test("memraft start refuses bad settings with a one-line reason", (t) => {
  const badPort = spawnSync(process.execPath, [bin, "start", "-p", "99999"], { encoding: "utf8" });
  t.not(badPort.status, 0);
  t.regex(badPort.stderr, /port/);
  const tinyItems = spawnSync(process.execPath, [bin, "start", "-I", "512"], { encoding: "utf8" });
  t.is(tinyItems.status, 2);
  t.regex(tinyItems.stderr, /^memraft: max item size must be from 1024 bytes/);
});

test("memraft --version prints the package version", (t) => {
  const result = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
  t.is(result.status, 0);
  t.regex(result.stdout, /^\d+\.\d+\.\d+\n$/);
});
