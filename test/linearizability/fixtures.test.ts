// The checker must give the known verdict on every history in
// shared/data/linearizability (jepsen etcd register logs, porcupine kv).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { checkOperations } from "./checker.js";
import { fixturesDir, parseJepsenLog, parseKvHistory, readExpected } from "./fixtures.js";
import { kvModel } from "./kv-model.js";
import { registerModel } from "./register-model.js";

const root = fixturesDir();

test("every jepsen etcd history gets its expected verdict", (t) => {
  const folder = join(root, "jepsen-etcd");
  const cases = readExpected(folder);
  t.is(cases.length, 102);
  const wrong: string[] = [];
  const counts = { linearizable: 0, "not-linearizable": 0 };
  for (const { file, expected } of cases) {
    const operations = parseJepsenLog(readFileSync(join(folder, file), "latin1"));
    const result = checkOperations(registerModel, operations, { timeoutMs: 20_000 });
    if (result.verdict !== expected)
      wrong.push(`${file}: expected ${expected}, got ${result.verdict}`);
    else counts[expected as keyof typeof counts]++;
  }
  t.log(
    `jepsen-etcd: ${counts.linearizable} linearizable, ${counts["not-linearizable"]} not, all as expected`,
  );
  t.deepEqual(wrong, []);
});

for (const { file, expected } of readExpected(join(root, "kv"))) {
  test(`kv history ${file} is ${expected}`, (t) => {
    const operations = parseKvHistory(readFileSync(join(root, "kv", file), "latin1"));
    t.true(operations.length > 0);
    const result = checkOperations(kvModel, operations, { timeoutMs: 60_000 });
    t.is<string, string>(result.verdict, expected, result.explanation);
  });
}
