import test from "ava";
import fc from "fast-check";
import { runs } from "../helpers/property.js";
import { cutStream, split } from "../helpers/protocol-generators.js";
import { ProtocolSession } from "../helpers/protocol-session.js";

function replies(chunks: readonly Buffer[]): { output: string; closed: boolean } {
  const session = new ProtocolSession();
  for (const chunk of chunks) session.feed(Buffer.from(chunk));
  return { output: session.output, closed: session.closed };
}

test("a command stream cut at random byte boundaries gets the same replies as sent whole", (t) => {
  fc.assert(
    fc.property(cutStream, ({ stream, cuts }) => {
      t.deepEqual(replies(split(stream, cuts)), replies([stream]));
    }),
    { numRuns: runs(300) },
  );
});

test("random garbage never throws out of a connection", (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
      const session = new ProtocolSession();
      for (const chunk of chunks) session.feed(Buffer.from(chunk));
      t.pass();
    }),
    { numRuns: runs(1000) },
  );
});

test("replies keep request order across many pipelined commands", (t) => {
  const session = new ProtocolSession();
  const commands = Array.from(
    { length: 500 },
    (_, i) => `set k${i} 0 0 ${String(i).length}\r\n${i}\r\nget k${i}\r\n`,
  );
  session.feed(commands.join(""));
  const expected = Array.from(
    { length: 500 },
    (_, i) => `STORED\r\nVALUE k${i} 0 ${String(i).length}\r\n${i}\r\nEND\r\n`,
  );
  t.is(session.output, expected.join(""));
});

test("nothing after quit runs, and the connection closes", (t) => {
  const session = new ProtocolSession();
  session.feed("set a 0 0 1\r\nx\r\nquit\r\nset b 0 0 1\r\ny\r\n");
  t.is(session.output, "STORED\r\n");
  t.true(session.closed);
});
