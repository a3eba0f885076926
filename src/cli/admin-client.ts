// The memraft command's way to talk to a running node: memraft's own
// `cluster` commands over the client port (server/cluster-commands.ts),
// which is the port an operator already knows and can reach.

import { connect, type Socket } from "node:net";
import type { Address } from "../cluster/config.js";
import { formatAddress } from "../cluster/config.js";
import { MemraftError } from "../util/errors.js";

const replyTimeoutMs = 30_000;

/** Sends one request and returns the whole reply, which ends with `done(reply)`. */
async function exchange(
  address: Address,
  request: Buffer,
  done: (reply: Buffer) => boolean,
): Promise<Buffer> {
  const socket: Socket = connect({ host: address.host, port: address.port });
  socket.setTimeout(replyTimeoutMs);
  const where = formatAddress(address);
  return new Promise((resolve, reject) => {
    let reply = Buffer.alloc(0);
    const fail = (why: string) => {
      socket.destroy();
      reject(new MemraftError("ERR_UNAVAILABLE", `${where}: ${why}`, { address: where }));
    };
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (!done(reply)) return;
      socket.destroy();
      resolve(reply);
    });
    socket.once("timeout", () => fail(`no reply within ${replyTimeoutMs / 1000} s`));
    socket.once("error", (error) => fail(error.message));
    socket.once("close", () => fail("connection closed before the reply was complete"));
  });
}

function firstLine(reply: Buffer): string | undefined {
  const end = reply.indexOf("\r\n");
  return end === -1 ? undefined : reply.toString("utf8", 0, end);
}

/** `cluster status`: the node's JSON view of the cluster. */
export async function fetchStatus(address: Address): Promise<unknown> {
  const reply = await exchange(address, Buffer.from("cluster status\r\n"), (bytes) => {
    const line = firstLine(bytes);
    if (line === undefined) return false;
    const match = /^CLUSTER (\d+)$/.exec(line);
    if (match === null) return true;
    return bytes.length >= line.length + 2 + Number(match[1]) + 2 + 5;
  });
  const line = firstLine(reply)!;
  const match = /^CLUSTER (\d+)$/.exec(line);
  if (match === null) {
    throw new MemraftError("ERR_UNAVAILABLE", `${formatAddress(address)} answered: ${line}`);
  }
  const start = line.length + 2;
  return JSON.parse(reply.toString("utf8", start, start + Number(match[1])));
}

/** `cluster apply`: the committed version, or the node's reasons for refusing the file. */
export async function applyFile(
  address: Address,
  file: Buffer,
): Promise<{ version: number } | { problems: string }> {
  const request = Buffer.concat([
    Buffer.from(`cluster apply ${file.length}\r\n`),
    file,
    Buffer.from("\r\n"),
  ]);
  const reply = await exchange(address, request, (bytes) => firstLine(bytes) !== undefined);
  const line = firstLine(reply)!;
  const ok = /^OK (\d+)$/.exec(line);
  if (ok !== null) return { version: Number(ok[1]) };
  if (line.startsWith("CLIENT_ERROR ")) return { problems: line.slice("CLIENT_ERROR ".length) };
  throw new MemraftError("ERR_UNAVAILABLE", `${formatAddress(address)} answered: ${line}`);
}
