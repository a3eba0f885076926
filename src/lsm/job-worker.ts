// Entry point of the CPU worker thread (started by executor.ts). Handles one
// request at a time, in arrival order, and transfers result buffers back.

import { parentPort } from "node:worker_threads";
import { JobHandler } from "./job-handler.js";
import { type JobRequest, transferablesOf } from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("job-worker.js must run in a worker thread");
const handler = new JobHandler();
let queue = Promise.resolve();

port.on("message", (message: { id: number; request: JobRequest }) => {
  queue = queue.then(async () => {
    const response = await handler.handle(message.request);
    port.postMessage({ id: message.id, response }, transferablesOf(response));
  });
});
