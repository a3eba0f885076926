import test from "ava";
import fc from "fast-check";
import { decodeBase64Key, encodeBase64Key } from "../../src/protocol/base64-key.js";

const decode = (text: string) => {
  const buf = Buffer.from(text, "latin1");
  return decodeBase64Key(buf, 0, buf.length)?.toString("latin1");
};

test("encoded keys decode to the same bytes", (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 180 }), (bytes) => {
      const key = Buffer.from(bytes).toString("latin1");
      t.is(decode(encodeBase64Key(key)), key);
    }),
  );
});

const quirks: [string, string | undefined][] = [
  ["Zm9vYmFy", "foobar"],
  ["YQ==", "a"],
  ["YWI=", "ab"],
  ["Zm9v!!", "foo"],
  ["Z!m9v", "foo"],
  ["!!!!", undefined],
  ["Zm9", undefined],
  ["Y===", undefined],
  ["====", undefined],
  ["YQ==Zm9v", "a"],
];

for (const [text, expected] of quirks) {
  test(`base64 keys decode as memcached does: ${text}`, (t) => {
    t.is(decode(text), expected);
  });
}
