// Real memcached clients against a memraft target, each checked against the
// same client talking to a real memcached 1.6 started by the test. A target
// has one or more entry points (a cluster's nodes); every check runs through
// each of them.

import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import Memcached from "memcached";
import type { Endpoint } from "../helpers/kv-client.js";
import {
  memcachedAvailable,
  type RunningMemcached,
  startMemcached,
} from "../helpers/memcached-process.js";
import { RawClient } from "../helpers/raw-client.js";
import { checkTool, debianPython, findExecutable, type ToolCheck } from "../helpers/tools.js";
import { waitFor } from "../helpers/wait.js";

export interface ClientTarget {
  readonly entryPoints: readonly Endpoint[];
  stop(): Promise<void>;
}

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
const memcachedTool = "/usr/share/memcached/scripts/memcached-tool";
const toolAvailable = checkTool("memcached-tool (Debian memcached package)", () =>
  findExecutable(memcachedTool) ? undefined : `${memcachedTool} missing`,
);
const memcdump = checkTool("memcdump (libmemcached-tools)", () =>
  findExecutable("memcdump") ? undefined : "not on PATH",
);

interface Check {
  /** Stable name, for the options' lists. */
  readonly name: string;
  readonly tools: readonly ToolCheck[];
  readonly run: (t: ExecutionContext, oracle: Endpoint, entry: Endpoint) => Promise<void>;
}

const checks: readonly Check[] = [
  {
    name: "memccapable -a passes every ascii test",
    tools: [memccapable],
    run: (t, _oracle, entry) => checkMemccapable(t, entry),
  },
  {
    name: "pymemcache sees what it sees with memcached",
    tools: [pymemcache, memcached],
    run: checkPymemcache,
  },
  {
    name: "Cache::Memcached::Fast sees what it sees with memcached",
    tools: [perlClient, memcached],
    run: checkPerlClient,
  },
  {
    name: "the node memcached client sees what it sees with memcached",
    tools: [memcached],
    run: checkNodeClient,
  },
  {
    name: "memcached-tool dump replays every item",
    tools: [toolAvailable],
    run: (t, _oracle, entry) => checkMemcachedToolDump(t, entry),
  },
  {
    name: "memcached-tool display shows the slab of the items",
    tools: [toolAvailable],
    run: (t, _oracle, entry) => checkMemcachedToolDisplay(t, entry),
  },
  {
    name: "memcdump lists every key",
    tools: [memcdump],
    run: (t, _oracle, entry) => checkMemcdump(t, entry),
  },
];

export interface ClientCheckOptions {
  /**
   * Checks this target is known to fail, by name, with the reason: they
   * run as ava's `failing` tests, so the day they pass is noticed.
   */
  readonly knownGaps?: ReadonlyMap<string, string>;
}

/**
 * Registers every client check against the target `startTarget` gives,
 * once per entry point (`entryCount` of them, known before it starts).
 */
export function registerClientChecks(
  label: string,
  entryCount: number,
  startTarget: () => Promise<ClientTarget>,
  options: ClientCheckOptions = {},
): void {
  const knownGaps = options.knownGaps ?? new Map<string, string>();
  for (const name of knownGaps.keys()) {
    if (!checks.some((check) => check.name === name))
      throw new Error(`client checks (${label}): no check named ${JSON.stringify(name)}`);
  }
  let oracle: RunningMemcached | undefined;
  let target: ClientTarget | undefined;

  test.before(async () => {
    target = await startTarget();
    if (memcached.available) oracle = await startMemcached();
  });

  test.after.always(async () => {
    await target?.stop();
    await oracle?.stop();
  });

  for (let entry = 0; entry < entryCount; entry++) {
    const where = entryCount === 1 ? label : `${label}, entry point ${entry + 1}`;
    for (const check of checks) {
      const title = `${check.name} (${where})`;
      const implementation = (t: ExecutionContext) =>
        check.run(t, { host: "127.0.0.1", port: oracle?.port ?? 0 }, target!.entryPoints[entry]!);
      const missing = check.tools.find((tool) => !tool.available);
      const gap = knownGaps.get(check.name);
      if (missing !== undefined)
        test.serial.skip(`${title} (skipped: ${missing.reason})`, implementation);
      else if (gap !== undefined)
        test.serial.failing(`${title} (known gap: ${gap})`, implementation);
      else test.serial(title, implementation);
    }
  }
}

async function checkMemccapable(t: ExecutionContext, entry: Endpoint): Promise<void> {
  const { stdout } = await run("memccapable", ["-h", entry.host, "-p", String(entry.port), "-a"]);
  const passed = stdout.split("\n").filter((line) => /^ascii .*\[pass\]$/.test(line));
  const failed = stdout.split("\n").filter((line) => /\[(fail|skip)\]/.test(line));
  t.deepEqual(failed, []);
  t.is(passed.length, 27, stdout);
  t.regex(stdout, /All tests passed/);
}

async function checkPymemcache(
  t: ExecutionContext,
  oracle: Endpoint,
  entry: Endpoint,
): Promise<void> {
  const script = join(clientsDir, "pymemcache-check.py");
  const results = await Promise.all(
    [oracle, entry].map(async ({ host, port }) => {
      const { stdout } = await run(debianPython, [script, String(port), host]);
      const parsed = JSON.parse(stdout) as Record<string, unknown>;
      delete parsed.stats_curr_items;
      return parsed;
    }),
  );
  t.deepEqual(results[1], results[0]);
  t.is(results[1]!.append_prepend, ">hello world");
  t.true(results[1]!.binary_roundtrip);
}

async function checkPerlClient(
  t: ExecutionContext,
  oracle: Endpoint,
  entry: Endpoint,
): Promise<void> {
  const script = join(clientsDir, "perl-check.pl");
  const [expected, actual] = await Promise.all(
    [oracle, entry].map(
      async ({ host, port }) => (await run("perl", [script, String(port), host])).stdout,
    ),
  );
  t.is(actual, expected);
  t.regex(actual!, /^cas_ok=1$/m);
  t.regex(actual!, /^binary_roundtrip=1$/m);
}

/** The node `memcached` package's callbacks as promises. */
function nodeClient({ host, port }: Endpoint) {
  const client = new Memcached(`${host}:${port}`, { retries: 0, timeout: 5000 });
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

async function exerciseNodeClient(entry: Endpoint): Promise<Record<string, unknown>> {
  const client = nodeClient(entry);
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

async function checkNodeClient(
  t: ExecutionContext,
  oracle: Endpoint,
  entry: Endpoint,
): Promise<void> {
  const expected = await exerciseNodeClient(oracle);
  const actual = await exerciseNodeClient(entry);
  t.deepEqual(actual, expected);
  t.is(actual.afterAppend, "swapped!");
}

async function seedDumpItems(entry: Endpoint): Promise<void> {
  const client = await RawClient.connect(entry.port, entry.host);
  await client.request("flush_all\r\n");
  await client.request("set dump:1 5 0 3\r\nabc\r\n");
  await client.request("set dump%20two 0 0 2\r\nhi\r\n");
  client.close();
}

/**
 * Runs a dump until `complete` holds, or for two seconds at most. A dump
 * lists the entry node's own items, like a memcached server's: on a cluster
 * follower they appear once it applies the writes, which it learns of with
 * the leader's next message (a heartbeat is 100 ms).
 */
async function dumpUntil(
  dump: () => Promise<string>,
  complete: (output: string) => boolean,
): Promise<string> {
  let output = "";
  await waitFor(
    "the dump to list every item",
    async () => {
      output = await dump();
      return complete(output);
    },
    2000,
    50,
  ).catch(() => {});
  return output;
}

async function checkMemcachedToolDump(t: ExecutionContext, entry: Endpoint): Promise<void> {
  await seedDumpItems(entry);
  const added = [/^add dump:1 5 0 3\r?\nabc\r?$/m, /^add dump%20two 0 0 2\r?\nhi\r?$/m];
  const stdout = await dumpUntil(
    async () => (await run("perl", [memcachedTool, `${entry.host}:${entry.port}`, "dump"])).stdout,
    (output) => added.every((pattern) => pattern.test(output)),
  );
  for (const pattern of added) t.regex(stdout, pattern);
}

async function checkMemcachedToolDisplay(t: ExecutionContext, entry: Endpoint): Promise<void> {
  await seedDumpItems(entry);
  const slabWithTwoItems = /^\s+1\s+\S+\s+\d+s\s+\d+\s+2\s/m;
  const stdout = await dumpUntil(
    async () =>
      (await run("perl", [memcachedTool, `${entry.host}:${entry.port}`, "display"])).stdout,
    (output) => slabWithTwoItems.test(output),
  );
  t.regex(stdout, slabWithTwoItems);
}

async function checkMemcdump(t: ExecutionContext, entry: Endpoint): Promise<void> {
  await seedDumpItems(entry);
  const keys = (output: string) => output.trim().split("\n").sort();
  const stdout = await dumpUntil(
    async () => (await run("memcdump", [`--servers=${entry.host}:${entry.port}`])).stdout,
    (output) => keys(output).length === 2,
  );
  t.deepEqual(keys(stdout), ["dump%20two", "dump:1"]);
}
