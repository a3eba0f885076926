import test from "ava";
import fc from "fast-check";
import type { Command } from "../../src/protocol/commands.js";
import { type ParseResult, TextParser } from "../../src/protocol/text-parser.js";
import { cutStream, split } from "../helpers/protocol-generators.js";

const options = { itemSizeMaxBytes: 1024 * 1024, clusterCommands: true };

/** Every result the parser gives for the chunks, need-more results left out. */
function parseAll(chunks: readonly Buffer[]): ParseResult[] {
  const parser = new TextParser(options);
  const results: ParseResult[] = [];
  for (const chunk of chunks) {
    parser.push(Buffer.from(chunk));
    for (let result = parser.next(); result.kind !== "need-more"; result = parser.next()) {
      results.push(result);
      if (result.kind === "close") return results;
    }
  }
  return results;
}

function only(results: ParseResult[]): Command {
  if (results.length !== 1) throw new Error(`expected one result, got ${JSON.stringify(results)}`);
  return results[0] as Command;
}

test("any split of a command stream gives the same commands as the whole stream", (t) => {
  fc.assert(
    fc.property(cutStream, ({ stream, cuts }) => {
      t.deepEqual(parseAll(split(stream, cuts)), parseAll([stream]));
    }),
    { numRuns: 500 },
  );
});

test("random bytes never make the parser throw, however they are cut", (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(600), { maxLength: 8 }),
      (bytes, cuts) => {
        const stream = Buffer.from(bytes);
        const sortedCuts = [...new Set(cuts.filter((cut) => cut > 0 && cut < stream.length))].sort(
          (a, b) => a - b,
        );
        const results = parseAll(split(stream, sortedCuts));
        t.true(results.every((result) => typeof result.kind === "string"));
      },
    ),
    { numRuns: 2000 },
  );
});

test("a set's value is copied out of the read buffer", (t) => {
  const chunk = Buffer.from("set k 3 0 5\r\nhello\r\n");
  const command = only(parseAll([chunk]));
  chunk.fill(0);
  t.like(command, { kind: "store", key: "k", flags: 3 });
  t.is((command as { value: Buffer }).value.toString(), "hello");
});

test("a data block arriving one byte at a time completes once", (t) => {
  const chunks = [...Buffer.from("set k 0 0 4\r\nab\r\n\r\n")].map((byte) => Buffer.from([byte]));
  const command = only(parseAll(chunks));
  t.is((command as { value: Buffer }).value.toString("latin1"), "ab\r\n");
});

test("a too-large value is swallowed and answered only when its last byte arrives", (t) => {
  const parser = new TextParser({ itemSizeMaxBytes: 1024 });
  parser.push(Buffer.from("set big 0 0 2000\r\n"));
  t.is(parser.next().kind, "need-more");
  parser.push(Buffer.alloc(1999, 0x61));
  t.is(parser.next().kind, "need-more");
  parser.push(Buffer.from("a\r\nget big\r\n"));
  t.like(parser.next(), { kind: "store", key: "big", tooLarge: true });
  t.like(parser.next(), { kind: "get", keys: ["big"] });
});

test("a line without a newline is given up after 2048 bytes unless it is a multiget", (t) => {
  t.like(parseAll([Buffer.alloc(2049, 0x78)]).at(-1), { kind: "close", reason: "line-too-long" });
  t.deepEqual(parseAll([Buffer.from(`get ${"k ".repeat(2000)}`)]), []);
  t.like(parseAll([Buffer.from(`gets ${"k ".repeat(2000)}`), Buffer.from("\r\n")]).at(0), {
    kind: "get",
  });
});

test("a multiget line longer than the multiget limit closes the connection", (t) => {
  const parser = new TextParser(options);
  parser.push(Buffer.from(`get ${"key ".repeat(600_000)}`));
  t.like(parser.next(), { kind: "close", reason: "line-too-long" });
});

test("an HTTP request line closes the connection", (t) => {
  t.like(only(parseAll([Buffer.from("GET / HTTP/1.0\r\n")])), {
    kind: "close",
    reason: "http-request",
  });
});

test("noreply is taken only from the last word", (t) => {
  t.like(only(parseAll([Buffer.from("delete k noreply\r\n")])), { kind: "delete", noreply: true });
  t.like(only(parseAll([Buffer.from("incr k 1 noreply\r\n")])), {
    kind: "arithmetic",
    noreply: true,
  });
  t.like(only(parseAll([Buffer.from("get k noreply\r\n")])), {
    kind: "get",
    keys: ["k", "noreply"],
  });
});

test("ms with a C flag in set or replace mode becomes a cas", (t) => {
  t.like(only(parseAll([Buffer.from("ms k 1 C5\r\nx\r\n")])), { kind: "ms", mode: "cas", cas: 5n });
  t.like(only(parseAll([Buffer.from("ms k 1 C5 MR\r\nx\r\n")])), { kind: "ms", mode: "cas" });
  t.like(only(parseAll([Buffer.from("ms k 1 C5 MA\r\nx\r\n")])), {
    kind: "ms",
    mode: "append",
    cas: 5n,
  });
  t.like(only(parseAll([Buffer.from("ms k 1 C5 ME\r\nx\r\n")])), { kind: "ms", mode: "add" });
});

test("meta flags keep their request order", (t) => {
  t.like(only(parseAll([Buffer.from("mg k t T30 v O1 c k s\r\n")])), {
    kind: "mg",
    returnFlags: "tOcks",
    effectOrder: "tT",
    returnValue: true,
  });
});

test("memraft's cluster commands: status, and apply with the cluster file as a data block", (t) => {
  t.deepEqual(only(parseAll([Buffer.from("cluster status\r\n")])), { kind: "cluster_status" });
  const file = "version: 1\r\nnodes: []\n";
  const applied = only(parseAll([Buffer.from(`cluster apply ${file.length}\r\n${file}\r\n`)]));
  t.deepEqual(applied, { kind: "cluster_apply", file: Buffer.from(file) });
  for (const bad of [
    "cluster\r\n",
    "cluster stat\r\n",
    "cluster apply\r\n",
    "cluster status x\r\n",
  ])
    t.like(only(parseAll([Buffer.from(bad)])), { kind: "reply", line: "ERROR" }, bad);
  t.like(only(parseAll([Buffer.from("cluster apply -1\r\n")])), {
    kind: "reply",
    line: "CLIENT_ERROR bad command line format",
  });
  const huge = 2 * 1024 * 1024;
  const results = parseAll([Buffer.from(`cluster apply ${huge}\r\n`), Buffer.alloc(huge + 2)]);
  t.like(only(results), { kind: "reply", line: "CLIENT_ERROR cluster file over 1048576 bytes" });
  const plain = new TextParser({ itemSizeMaxBytes: 1024 });
  plain.push(Buffer.from("cluster apply 2\r\nab\r\n"));
  t.like(plain.next(), { kind: "reply", line: "ERROR" });
  t.like(
    plain.next(),
    { kind: "reply", line: "ERROR" },
    "without a cluster the block is a command",
  );
});
