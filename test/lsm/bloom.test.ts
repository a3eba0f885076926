import test from "ava";
import fc from "fast-check";
import { BloomBuilder, bloomHash, bloomHashString, bloomMayContain } from "../../src/lsm/bloom.js";
import { runs } from "../helpers/property.js";

function key(i: number): Buffer {
  return Buffer.from(`user:${i.toString(16).padStart(12, "0")}`);
}

test("a bloom filter never rejects a key it holds and rejects about 99% of others at 10 bits per key", (t) => {
  const builder = new BloomBuilder();
  const count = 20_000;
  for (let i = 0; i < count; i++) {
    const bytes = key(i);
    builder.add(bloomHash(bytes, 0, bytes.length));
  }
  const filter = builder.finish(10);
  t.is(filter.length, (count * 10) / 8 + 1);
  for (let i = 0; i < count; i++) {
    const bytes = key(i);
    if (!bloomMayContain(filter, bloomHash(bytes, 0, bytes.length)))
      t.fail(`false negative for ${i}`);
  }
  let falsePositives = 0;
  const probes = 100_000;
  for (let i = count; i < count + probes; i++) {
    const bytes = key(i);
    if (bloomMayContain(filter, bloomHash(bytes, 0, bytes.length))) falsePositives++;
  }
  const rate = falsePositives / probes;
  t.true(rate < 0.015, `false positive rate ${rate}`);
  t.true(rate > 0.002, `false positive rate ${rate} is suspiciously low`);
});

test("an empty filter holds nothing", (t) => {
  const filter = new BloomBuilder().finish(10);
  t.false(bloomMayContain(filter, bloomHash(Buffer.from("x"), 0, 1)));
});

test("a key hashes the same from its bytes and from its latin1 string", (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const buffer = Buffer.from(bytes);
      return bloomHash(buffer, 0, buffer.length) === bloomHashString(buffer.toString("latin1"));
    }),
    { numRuns: runs(1000) },
  );
  t.pass();
});
