// How long a cluster takes to accept new writes after a fault: from `sinceMs`
// on, a fresh set is started every few milliseconds on a fresh connection
// to one of the given nodes in turn, and the first one acknowledged ends the
// probe. A workload client cannot measure this: its command in flight at the
// fault may wait for the server's request timeout, whatever happens after.

import { setTimeout as delay } from "node:timers/promises";
import { type Endpoint, KvClient } from "../helpers/kv-client.js";

export interface ProbeResult {
  /** From `sinceMs` to the first acknowledgement. */
  readonly unavailableMs: number;
  /** Sets started until then. */
  readonly attempts: number;
}

const intervalMs = 25;

export async function probeWrites(
  endpoints: readonly Endpoint[],
  sinceMs: number,
  options: { timeoutMs: number; replyTimeoutMs: number },
): Promise<ProbeResult> {
  let acknowledgedMs: number | undefined;
  const inFlight = new Map<KvClient, Promise<void>>();
  const attemptsMax = Math.ceil(options.timeoutMs / intervalMs);
  let attempts = 0;
  while (acknowledgedMs === undefined && attempts < attemptsMax) {
    const client = new KvClient(endpoints[attempts % endpoints.length]!, options.replyTimeoutMs);
    const key = `probe:${sinceMs}:${attempts}`;
    const attempt = setOnce(client, key).then((acknowledged) => {
      if (acknowledged) acknowledgedMs ??= Date.now();
      inFlight.delete(client);
    });
    inFlight.set(client, attempt);
    attempts++;
    await delay(intervalMs);
  }
  // The sets still waiting were started earlier: their answers no longer matter.
  for (const client of inFlight.keys()) client.close();
  await Promise.all(inFlight.values());
  if (acknowledgedMs === undefined)
    throw new Error(`no write acknowledged within ${options.timeoutMs} ms (${attempts} attempts)`);
  return { unavailableMs: acknowledgedMs - sinceMs, attempts };
}

async function setOnce(client: KvClient, key: string): Promise<boolean> {
  try {
    if (!(await client.connect())) return false;
    const reply = await client.set(key, "1");
    return reply.kind === "line" && reply.line === "STORED";
  } finally {
    client.close();
  }
}
