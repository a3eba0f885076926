import test from "ava";
import fc from "fast-check";
import { ManualClock } from "../../src/store/clock.js";
import type { Store } from "../../src/store/store.js";
import { MemraftError } from "../../src/util/errors.js";
import { memcachedAvailable, startMemcached } from "../helpers/memcached-process.js";
import { startMemraft } from "../helpers/memraft-server.js";
import { runs } from "../helpers/property.js";
import { commandStream } from "../helpers/protocol-generators.js";
import { RawClient } from "../helpers/raw-client.js";
import { canConnect, waitFor } from "../helpers/wait.js";

function statsOf(reply: string): Map<string, string> {
  const stats = new Map<string, string>();
  for (const match of reply.matchAll(/^STAT (\S+) (.*)\r$/gm)) stats.set(match[1]!, match[2]!);
  return stats;
}

test("connections beyond the limit get memcached's error and are closed", async (t) => {
  const { port, stop } = await startMemraft({ settings: { maxConnections: 2 } });
  t.teardown(stop);
  const first = await RawClient.connect(port);
  const second = await RawClient.connect(port);
  t.is(await first.request("version\r\n"), "VERSION 1.6.18\r\n");
  const third = await RawClient.connect(port);
  await third.closedByServer();
  t.is(third.bytes.toString(), "ERROR Too many open connections\r\n");
  const stats = statsOf(await second.request("stats\r\n", "END\r\n"));
  t.is(stats.get("rejected_connections"), "1");
  t.is(stats.get("curr_connections"), "2");
  first.close();
  await waitFor("a slot to free up", async () => {
    const probe = await RawClient.connect(port);
    const reply = await probe.request("version\r\n").catch(() => "");
    probe.close();
    return reply.startsWith("VERSION");
  });
  second.close();
});

test("garbage on one connection never disturbs another", async (t) => {
  const { port, stop } = await startMemraft();
  t.teardown(stop);
  const good = await RawClient.connect(port);
  t.teardown(() => good.close());
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 4 }),
      async (chunks) => {
        const bad = await RawClient.connect(port);
        for (const chunk of chunks) await bad.write(Buffer.from(chunk));
        const key = `good${Math.random()}`;
        t.is(await good.request(`set ${key} 0 0 2\r\nok\r\n`), "STORED\r\n");
        t.is(await good.request(`get ${key}\r\n`, "END\r\n"), `VALUE ${key} 0 2\r\nok\r\nEND\r\n`);
        bad.close();
      },
    ),
    { numRuns: runs(40) },
  );
  t.true(await canConnect(port));
});

test("a client that does not read its replies is throttled without slowing others", async (t) => {
  const { port, stop } = await startMemraft();
  t.teardown(stop);
  const setup = await RawClient.connect(port);
  const value = "v".repeat(200_000);
  t.is(await setup.request(`set big 0 0 ${value.length}\r\n${value}\r\n`), "STORED\r\n");
  const slow = await RawClient.connect(port);
  slow.pauseReading();
  const requests = 100;
  await slow.write("get big\r\n".repeat(requests));
  await waitFor("the slow client's replies to back up", async () => {
    const stats = statsOf(await setup.request("stats\r\n", "END\r\n"));
    return Number(stats.get("bytes_written")) > 1_000_000;
  });
  const written = Number(statsOf(await setup.request("stats\r\n", "END\r\n")).get("bytes_written"));
  t.true(written < requests * value.length, "the server stopped producing replies nobody reads");
  t.is(
    await setup.request("get nothing\r\n", "END\r\n"),
    "END\r\n",
    "other clients are served meanwhile",
  );
  slow.resumeReading();
  const expected = `VALUE big 0 ${value.length}\r\n${value}\r\nEND\r\n`.length * requests;
  await slow.until(() => slow.byteCount >= expected, 30_000);
  t.is(slow.bytes.length, expected);
  t.true(slow.bytes.subarray(-5).equals(Buffer.from("END\r\n")));
  slow.close();
  setup.close();
});

test("graceful shutdown answers what clients already sent, then closes", async (t) => {
  const { port, server } = await startMemraft();
  const client = await RawClient.connect(port);
  await client.request("set a 0 0 1\r\nx\r\n");
  await client.write("get a\r\nget a\r\n");
  await waitFor("the requests to be read", () => server.counters.cmdGet === 2);
  await server.close();
  await client.closedByServer();
  t.is(client.bytes.toString(), "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
  t.false(await canConnect(port));
});

test("an enabled shutdown command stops the server", async (t) => {
  let requested: boolean | undefined;
  let stopped: Promise<void> | undefined;
  const started = await startMemraft({
    settings: { shutdownEnabled: true },
    onShutdownRequest: (graceful) => {
      requested = graceful;
      stopped = started.stop();
    },
  });
  const other = await RawClient.connect(started.port);
  t.is(await other.request("shutdown maybe\r\n"), "CLIENT_ERROR invalid shutdown mode\r\n");
  other.close();
  const client = await RawClient.connect(started.port);
  await client.write("shutdown graceful\r\n");
  await client.closedByServer();
  t.is(requested, true);
  await stopped;
  t.false(await canConnect(started.port));
});

/** The memory store behind promises that settle in a random order. */
function asynchronous(store: Store, random: () => number): Store {
  const later =
    <A extends unknown[], R>(operation: (...args: A) => R) =>
    (...args: A): Promise<Awaited<R>> => {
      const result = operation(...args) as Awaited<R>;
      return new Promise((resolve) => setTimeout(() => resolve(result), Math.floor(random() * 3)));
    };
  return {
    get: later(store.get.bind(store)),
    store: later(store.store.bind(store)),
    delete: later(store.delete.bind(store)),
    arithmetic: later(store.arithmetic.bind(store)),
    touch: later(store.touch.bind(store)),
    flushAll: later(store.flushAll.bind(store)),
    metaGet: later(store.metaGet.bind(store)),
    peek: later(store.peek.bind(store)),
    items: store.items.bind(store),
    stats: store.stats.bind(store),
    setMemoryLimit: store.setMemoryLimit.bind(store),
    close: store.close.bind(store),
  };
}

test("a store that answers asynchronously gives the same replies in the same order", async (t) => {
  await fc.assert(
    fc.asyncProperty(commandStream, fc.integer(), async (stream, seed) => {
      let state = seed;
      const random = () => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return state / 0x80000000;
      };
      const replies: string[] = [];
      for (const wrapStore of [undefined, (store: Store) => asynchronous(store, random)]) {
        const server = await startMemraft({
          clock: new ManualClock(1_800_000_000),
          ...(wrapStore ? { wrapStore } : {}),
        });
        const client = await RawClient.connect(server.port);
        await client.write(Buffer.concat([stream, Buffer.from("mg memraft_end Oend\r\n")]));
        await client.until((received) => received.toString("latin1").endsWith("EN Oend\r\n"));
        replies.push(client.bytes.toString("latin1"));
        client.close();
        await server.stop();
      }
      t.is(replies[1], replies[0]);
    }),
    { numRuns: runs(25) },
  );
});

const memcached = memcachedAvailable();

(memcached.available ? test : test.skip)(
  "stats reports every general field memcached 1.6 reports",
  async (t) => {
    const oracle = await startMemcached();
    const memraft = await startMemraft();
    t.teardown(async () => {
      await oracle.stop();
      await memraft.stop();
    });
    const theirs = await RawClient.connect(oracle.port);
    const ours = await RawClient.connect(memraft.port);
    const expected = [...statsOf(await theirs.request("stats\r\n", "END\r\n")).keys()];
    const actual = [...statsOf(await ours.request("stats\r\n", "END\r\n")).keys()];
    t.deepEqual(
      expected.filter((name) => !actual.includes(name)),
      [],
      "missing fields",
    );
    t.deepEqual(actual.slice(0, expected.length), expected, "same order");
    theirs.close();
    ours.close();
  },
);

test("stats counters are true", async (t) => {
  const { port, stop } = await startMemraft();
  t.teardown(stop);
  const client = await RawClient.connect(port);
  await client.request(
    "set a 0 0 1\r\n1\r\nget a b\r\ngets a\r\ngat 10 a c\r\nincr a 1\r\nincr zz 1\r\ndecr a 1\r\ntouch a 5\r\ntouch zz 5\r\ndelete a\r\ndelete a\r\ncas zz 0 0 1 1\r\nx\r\nmg a v\r\nme a\r\nflush_all\r\n",
    "OK\r\n",
  );
  const stats = statsOf(await client.request("stats\r\n", "END\r\n"));
  const expected: Record<string, string> = {
    cmd_get: "4",
    get_hits: "2",
    get_misses: "2",
    cmd_set: "2",
    cmd_touch: "4",
    touch_hits: "2",
    touch_misses: "2",
    incr_hits: "1",
    incr_misses: "1",
    decr_hits: "1",
    delete_hits: "1",
    delete_misses: "1",
    cas_misses: "1",
    cmd_flush: "1",
    cmd_meta: "1",
    curr_connections: "1",
    curr_items: "0",
    threads: "1",
  };
  for (const [name, value] of Object.entries(expected)) t.is(stats.get(name), value, name);
  t.regex(stats.get("rusage_user") ?? "", /^\d+\.\d{6}$/);
  t.regex(stats.get("rusage_system") ?? "", /^\d+\.\d{6}$/);
  t.is(stats.get("pid"), String(process.pid));
  t.true(Number(stats.get("bytes_read")) > 100);
  client.close();
});

test("every stats sub-report ends with END", async (t) => {
  const { port, stop } = await startMemraft();
  t.teardown(stop);
  const client = await RawClient.connect(port);
  await client.request("set a 0 0 1\r\n1\r\n");
  for (const group of ["", " settings", " items", " slabs", " sizes", " conns", " detail dump"]) {
    const reply = await client.request(`stats${group}\r\n`, "END\r\n");
    t.true(
      reply
        .split("\r\n")
        .slice(0, -2)
        .every((line) => /^(STAT \S+ \S.*|PREFIX .*)$/.test(line)),
      group,
    );
  }
  client.close();
});

test("stats carry what the Prometheus memcached_exporter requires, as numbers", async (t) => {
  // The exporter (prometheus/memcached_exporter) reports the server down
  // unless these parse; it reads stats, stats slabs, stats items and stats
  // settings, each of which must end with END.
  const { port, stop } = await startMemraft();
  t.teardown(stop);
  const client = await RawClient.connect(port);
  await client.request("set a 0 0 1\r\n1\r\n");
  const general = statsOf(await client.request("stats\r\n", "END\r\n"));
  for (const name of [
    "cmd_set",
    "cas_misses",
    "cas_hits",
    "cas_badval",
    "uptime",
    "time",
    "curr_items",
    "bytes",
    "limit_maxbytes",
    "curr_connections",
    "total_connections",
    "rusage_user",
    "rusage_system",
    "evictions",
    "reclaimed",
    "store_too_large",
    "store_no_memory",
  ]) {
    t.false(Number.isNaN(Number.parseFloat(general.get(name) ?? "")), name);
  }
  const slabs = statsOf(await client.request("stats slabs\r\n", "END\r\n"));
  for (const name of [
    "1:cmd_set",
    "1:cas_hits",
    "1:cas_badval",
    "1:chunk_size",
    "1:used_chunks",
    "total_malloced",
  ]) {
    t.false(Number.isNaN(Number.parseFloat(slabs.get(name) ?? "")), name);
  }
  const items = statsOf(await client.request("stats items\r\n", "END\r\n"));
  for (const name of ["items:1:number", "items:1:age", "items:1:evicted", "items:1:outofmemory"]) {
    t.false(Number.isNaN(Number.parseFloat(items.get(name) ?? "")), name);
  }
  const settings = statsOf(await client.request("stats settings\r\n", "END\r\n"));
  t.is(settings.get("maxconns"), "1024");
  client.close();
});

test("a command the store cannot serve now gets SERVER_ERROR, and the connection goes on", async (t) => {
  let failing = true;
  const server = await startMemraft({
    wrapStore: (store) =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property !== "get" || !failing) return Reflect.get(target, property, receiver);
          return () =>
            Promise.reject(
              new MemraftError("ERR_UNAVAILABLE", "group 3 has no leader\r\nthat answers"),
            );
        },
      }),
  });
  t.teardown(() => server.stop());
  const client = await RawClient.connect(server.port);
  t.is(await client.request("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
  t.is(await client.request("get k\r\n"), "SERVER_ERROR group 3 has no leader that answers\r\n");
  t.is(
    await client.request("get k other\r\n"),
    "SERVER_ERROR group 3 has no leader that answers\r\n",
  );
  failing = false;
  t.is(await client.request("get k\r\n", "END\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
  client.close();
});

test("memraft's cluster commands answer ERROR without a cluster, as memcached does", async (t) => {
  const server = await startMemraft();
  t.teardown(() => server.stop());
  const client = await RawClient.connect(server.port);
  t.is(await client.request("cluster status\r\n"), "ERROR\r\n");
  t.is(
    await client.request("cluster apply 2\r\nab\r\n", "ERROR\r\nERROR\r\n"),
    "ERROR\r\nERROR\r\n",
  );
  client.close();
});
