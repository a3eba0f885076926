// Real memcached clients against memraft, each checked against the same
// client talking to a real memcached 1.6 started by the test.

import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import Memcached from "memcached";
import {
  memcachedAvailable,
  type RunningMemcached,
  startMemcached,
} from "../helpers/memcached-process.js";
import { startMemraft, type TestServer } from "../helpers/memraft-server.js";
import { RawClient } from "../helpers/raw-client.js";
import { checkTool, debianPython, findExecutable, type ToolCheck } from "../helpers/tools.js";

const run = promisify(execFile);
const clientsDir = join(process.cwd(), "test", "clients");

function probe(command: string, args: string[]): () => string | undefined {
  return () => {
    try {
      execFileSync(command, args, { stdio: "ignore" });
      return undefined;
    } catch {
      return `${command} ${args.join(" ")} failed`;
    }
  };
}

const memcached = memcachedAvailable();
const pymemcache = checkTool(
  "python3-pymemcache",
  probe(debianPython, ["-c", "import pymemcache"]),
);
const perlClient = checkTool(
  "libcache-memcached-fast-perl",
  probe("perl", ["-MCache::Memcached::Fast", "-e", "1"]),
);
const memccapable = checkTool("memccapable (libmemcached-tools)", () =>
  findExecutable("memccapable") ? undefined : "not on PATH",
);

let oracle: RunningMemcached | undefined;
let memraft: TestServer | undefined;

test.before(async () => {
  memraft = await startMemraft();
  if (memcached.available) oracle = await startMemcached();
});

test.after.always(async () => {
  await memraft?.stop();
  await oracle?.stop();
});

/** Registers a serial test, or skips it saying which tool is missing. */
function when(...checks: ToolCheck[]) {
  const missing = checks.find((check) => !check.available);
  return (title: string, implementation: (t: ExecutionContext) => Promise<void>): void => {
    if (missing === undefined) test.serial(title, implementation);
    else test.serial.skip(`${title} (skipped: ${missing.reason})`, implementation);
  };
}

when(memccapable)("memccapable -a passes every ascii test", async (t) => {
  const { stdout } = await run("memccapable", [
    "-h",
    "127.0.0.1",
    "-p",
    String(memraft!.port),
    "-a",
  ]);
  const passed = stdout.split("\n").filter((line) => /^ascii .*\[pass\]$/.test(line));
  const failed = stdout.split("\n").filter((line) => /\[(fail|skip)\]/.test(line));
  t.deepEqual(failed, []);
  t.is(passed.length, 27, stdout);
  t.regex(stdout, /All tests passed/);
});

when(pymemcache, memcached)("pymemcache sees what it sees with memcached", async (t) => {
  const script = join(clientsDir, "pymemcache-check.py");
  const results = await Promise.all(
    [oracle!.port, memraft!.port].map(async (port) => {
      const { stdout } = await run(debianPython, [script, String(port)]);
      const parsed = JSON.parse(stdout) as Record<string, unknown>;
      delete parsed.stats_curr_items;
      return parsed;
    }),
  );
  t.deepEqual(results[1], results[0]);
  t.is(results[1]!.append_prepend, ">hello world");
  t.true(results[1]!.binary_roundtrip);
});

when(perlClient, memcached)(
  "Cache::Memcached::Fast sees what it sees with memcached",
  async (t) => {
    const script = join(clientsDir, "perl-check.pl");
    const [expected, actual] = await Promise.all(
      [oracle!.port, memraft!.port].map(
        async (port) => (await run("perl", [script, String(port)])).stdout,
      ),
    );
    t.is(actual, expected);
    t.regex(actual!, /^cas_ok=1$/m);
    t.regex(actual!, /^binary_roundtrip=1$/m);
  },
);

/** The node `memcached` package's callbacks as promises. */
function nodeClient(port: number) {
  const client = new Memcached(`127.0.0.1:${port}`, { retries: 0, timeout: 5000 });
  const call =
    <T>(method: (...args: never[]) => void) =>
    (...args: unknown[]): Promise<T> =>
      new Promise((resolve, reject) =>
        (method as (...args: unknown[]) => void).call(
          client,
          ...args,
          (error: unknown, result: T) => (error ? reject(error) : resolve(result)),
        ),
      );
  return {
    set: call<boolean>(client.set),
    get: call<unknown>(client.get),
    getMulti: call<Record<string, unknown>>(client.getMulti),
    gets: call<{ cas: string } & Record<string, unknown>>(client.gets),
    cas: call<boolean>(client.cas),
    add: call<boolean>(client.add),
    append: call<boolean>(client.append),
    incr: call<number | boolean>(client.incr),
    decr: call<number | boolean>(client.decr),
    del: call<boolean>(client.del),
    touch: call<boolean>(client.touch),
    version: call<{ version: string }[]>(client.version),
    flush: call<boolean[]>(client.flush),
    end: () => client.end(),
  };
}

async function exerciseNodeClient(port: number): Promise<Record<string, unknown>> {
  const client = nodeClient(port);
  try {
    await client.flush();
    const results: Record<string, unknown> = {};
    results.set = await client.set("nm:key", "hello", 100);
    results.get = await client.get("nm:key");
    await client.set("nm:a", "1", 0);
    results.getMulti = await client.getMulti(["nm:a", "nm:key", "nm:missing"]);
    const gets = await client.gets("nm:key");
    results.cas = await client.cas("nm:key", "swapped", gets.cas, 100);
    results.casStale = await client.cas("nm:key", "again", gets.cas, 100).catch(() => "error");
    results.add = await client.add("nm:key", "x", 0).catch(() => "error");
    results.append = await client.append("nm:key", "!");
    results.afterAppend = await client.get("nm:key");
    await client.set("nm:n", "10", 0);
    results.incr = await client.incr("nm:n", 5);
    results.decr = await client.decr("nm:n", 100);
    results.del = await client.del("nm:n");
    results.touch = await client.touch("nm:key", 10);
    results.version = (await client.version())[0]?.version;
    return results;
  } finally {
    client.end();
  }
}

when(memcached)("the node memcached client sees what it sees with memcached", async (t) => {
  const expected = await exerciseNodeClient(oracle!.port);
  const actual = await exerciseNodeClient(memraft!.port);
  t.deepEqual(actual, expected);
  t.is(actual.afterAppend, "swapped!");
});

const memcachedTool = "/usr/share/memcached/scripts/memcached-tool";
const toolAvailable = checkTool("memcached-tool (Debian memcached package)", () =>
  findExecutable(memcachedTool) ? undefined : `${memcachedTool} missing`,
);
const memcdump = checkTool("memcdump (libmemcached-tools)", () =>
  findExecutable("memcdump") ? undefined : "not on PATH",
);

async function seedDumpItems(): Promise<void> {
  const client = await RawClient.connect(memraft!.port);
  await client.request("flush_all\r\n");
  await client.request("set dump:1 5 0 3\r\nabc\r\n");
  await client.request("set dump%20two 0 0 2\r\nhi\r\n");
  client.close();
}

when(toolAvailable)("memcached-tool dump replays every item", async (t) => {
  await seedDumpItems();
  const { stdout } = await run("perl", [memcachedTool, `127.0.0.1:${memraft!.port}`, "dump"]);
  t.regex(stdout, /^add dump:1 5 0 3\r?\nabc\r?$/m);
  t.regex(stdout, /^add dump%20two 0 0 2\r?\nhi\r?$/m);
  const display = await run("perl", [memcachedTool, `127.0.0.1:${memraft!.port}`, "display"]);
  t.regex(display.stdout, /^\s+1\s+\S+\s+\d+s\s+\d+\s+2\s/m);
});

when(memcdump)("memcdump lists every key", async (t) => {
  await seedDumpItems();
  const { stdout } = await run("memcdump", [`--servers=127.0.0.1:${memraft!.port}`]);
  t.deepEqual(stdout.trim().split("\n").sort(), ["dump%20two", "dump:1"]);
});
