// The end of a cluster test with a kv workload: every node serves the same
// final values, no acknowledged write is missing or doubled, no reply was
// one a correct server never gives, and the whole history (final reads
// included) is linearizable per key.

import type { ExecutionContext } from "ava";
import type { Endpoint } from "../helpers/kv-client.js";
import { checkOperations } from "../linearizability/checker.js";
import { kvModel } from "../linearizability/kv-model.js";
import type { KvWorkload } from "./kv-workload.js";

export async function checkWorkloadEnd(
  t: ExecutionContext,
  workload: KvWorkload,
  nodes: readonly (Endpoint & { readonly id: string })[],
): Promise<void> {
  const finals = [];
  for (const node of nodes) finals.push(await workload.readAll(node));
  for (const [index, values] of finals.entries()) {
    t.deepEqual(
      Object.fromEntries(values),
      Object.fromEntries(finals[0]!),
      `${nodes[index]!.id} serves other values`,
    );
  }
  t.deepEqual(workload.checkFinalValues(finals[0]!), []);
  t.deepEqual(workload.anomalies, []);
  const operations = workload.history.operations();
  const unknown = operations.filter((operation) => operation.output === undefined).length;
  const started = performance.now();
  const result = checkOperations(kvModel, operations, { timeoutMs: 60_000 });
  const checkMs = Math.round(performance.now() - started);
  t.log(
    `${operations.length} operations recorded (${unknown} unknown, ${workload.writes.length} writes) over ${workload.keys.length} keys; checker: ${result.verdict} in ${checkMs} ms`,
  );
  t.log(`unknown outcomes: ${JSON.stringify(Object.fromEntries(workload.unknownReasons))}`);
  t.is(result.verdict, "linearizable", result.explanation);
}
