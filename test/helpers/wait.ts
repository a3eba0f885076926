// Polling with a deadline: how tests wait for a condition instead of sleeping.

import { connect } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function waitForPort(port: number, timeoutMs: number, host = "127.0.0.1"): Promise<void> {
  return waitFor(
    `${host}:${port} to accept connections`,
    () => canConnect(port, host),
    timeoutMs,
    20,
  );
}
