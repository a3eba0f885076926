// fast-check generators of memcached text-protocol input: valid commands of
// every kind (with a few deliberate errors mixed in), and ways to cut a byte
// stream into chunks. Left out on purpose: a multiget with a too-long key,
// whose reply (like memcached's) drops the replies not yet sent, so depends
// on how the stream was cut.

import fc from "fast-check";

const keys = ["a", "b", "key:1", "k\u0001", "long".repeat(60)];
const key = fc.constantFrom(...keys);
const noreply = fc.constantFrom("", " noreply");
const smallNumber = fc.integer({ min: 0, max: 40 });
const exptime = fc.constantFrom("0", "100", "-1", "2592000", "4294967296");
const value = fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes));
const opaque = fc.integer({ min: 0, max: 999 }).map((n) => `O${n}`);

const text = (parts: readonly (string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.map((part) => (typeof part === "string" ? Buffer.from(part, "latin1") : part)),
  );

const storage = fc
  .tuple(
    fc.constantFrom("set", "add", "replace", "append", "prepend"),
    key,
    fc.integer({ min: 0, max: 70000 }),
    exptime,
    value,
    noreply,
  )
  .map(([command, k, flags, ttl, v, nr]) =>
    text([`${command} ${k} ${flags} ${ttl} ${v.length}${nr}\r\n`, v, "\r\n"]),
  );

const cas = fc
  .tuple(key, smallNumber, value, noreply)
  .map(([k, unique, v, nr]) => text([`cas ${k} 0 0 ${v.length} ${unique}${nr}\r\n`, v, "\r\n"]));

const retrieval = fc
  .tuple(
    fc.constantFrom("get", "gets", "gat 100", "gats 0"),
    fc.array(key, { minLength: 1, maxLength: 4 }),
  )
  .map(([command, ks]) => text([`${command} ${ks.join(" ")}\r\n`]));

const simple = fc.oneof(
  fc.tuple(key, noreply).map(([k, nr]) => text([`delete ${k}${nr}\r\n`])),
  fc
    .tuple(
      fc.constantFrom("incr", "decr"),
      key,
      fc.constantFrom("1", "7", "18446744073709551615"),
      noreply,
    )
    .map(([c, k, d, nr]) => text([`${c} ${k} ${d}${nr}\r\n`])),
  fc.tuple(key, exptime, noreply).map(([k, ttl, nr]) => text([`touch ${k} ${ttl}${nr}\r\n`])),
  fc
    .constantFrom(
      "mn\r\n",
      "version\r\n",
      "verbosity 1\r\n",
      "verbosity 0 noreply\r\n",
      "flush_all\r\n",
      "flush_all 0 noreply\r\n",
      "stats sizes\r\n",
      "bogus command\r\n",
      "get\r\n",
      `set ${"x".repeat(251)} 0 0 1\r\n`,
      "set bad 0 0 2\r\nabcd\r\n",
      "set bad 0 0 abc\r\n",
      "\r\n",
    )
    .map((line) => text([line])),
);

const metaGet = fc
  .tuple(
    key,
    fc.subarray(["v", "k", "c", "f", "s", "t", "h", "l", "q", "u", "T30", "N30", "R30"]),
    opaque,
  )
  .map(([k, flags, o]) => text([`mg ${k} ${[...flags, o].join(" ")}\r\n`]));

const metaSet = fc
  .tuple(
    key,
    value,
    fc.subarray(["c", "k", "q", "T100", "F7", "I", "s"]),
    fc.constantFrom("", "MS", "ME", "MA", "MP", "MR"),
    fc.constantFrom("", "C1", "C5"),
  )
  .map(([k, v, flags, mode, compare]) =>
    text([
      `ms ${k} ${v.length} ${[...flags, mode, compare].filter(Boolean).join(" ")}\r\n`,
      v,
      "\r\n",
    ]),
  );

const metaDelete = fc
  .tuple(key, fc.subarray(["q", "k", "C3", "I", "T30"]), opaque)
  .map(([k, flags, o]) => text([`md ${k} ${[...flags, o].join(" ")}\r\n`]));

const metaArithmetic = fc
  .tuple(key, fc.subarray(["N0", "J5", "D3", "MD", "v", "t", "c", "q", "k"]), opaque)
  .map(([k, flags, o]) => text([`ma ${k} ${[...flags, o].join(" ")}\r\n`]));

export const commandBytes: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: storage, weight: 4 },
  { arbitrary: cas, weight: 1 },
  { arbitrary: retrieval, weight: 4 },
  { arbitrary: simple, weight: 3 },
  { arbitrary: metaGet, weight: 2 },
  { arbitrary: metaSet, weight: 2 },
  { arbitrary: metaDelete, weight: 1 },
  { arbitrary: metaArithmetic, weight: 1 },
);

/** A stream of valid (and a few invalid) commands. */
export const commandStream: fc.Arbitrary<Buffer> = fc
  .array(commandBytes, { minLength: 1, maxLength: 40 })
  .map((commands) => Buffer.concat(commands));

/** Cut points for a stream, as sorted offsets strictly inside it. */
export function cutsFor(length: number): fc.Arbitrary<number[]> {
  if (length < 2) return fc.constant([]);
  return fc
    .uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: Math.min(length - 1, 30) })
    .map((cuts) => cuts.sort((a, b) => a - b));
}

/** A stream and the cut points to split it at. */
export const cutStream: fc.Arbitrary<{ stream: Buffer; cuts: number[] }> = commandStream.chain(
  (stream) => cutsFor(stream.length).map((cuts) => ({ stream, cuts })),
);

export function split(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let previous = 0;
  for (const cut of cuts) {
    pieces.push(stream.subarray(previous, cut));
    previous = cut;
  }
  pieces.push(stream.subarray(previous));
  return pieces;
}
