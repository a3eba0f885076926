// A stand-in memcached server for measuring how many client requests Node
// can serve on this machine before memraft's own work is added: it knows
// only `get <key>` and `set <key> <flags> <exptime> <bytes>` (what
// memcaslap sends) and keeps values in a Map. Two shapes:
// - `--workers 0`: one process parses, answers and holds the Map;
// - `--workers N`: N processes (node:cluster, sharing the listening socket)
//   own the client connections and parse; one store process holds the Map
//   and answers their requests over a Unix socket, batched per event-loop
//   turn each way. This is the shape a multi-process memraft node would
//   have, with the Raft groups and LSMs in the store process.
// Usage: node dist/bench/front-end-stand-in.js --port P --workers N

import cluster from "node:cluster";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { port: { type: "string" }, workers: { type: "string", default: "0" } },
});
const port = Number(values.port);
const workers = Number(values.workers);
/** Named after the store process: the workers are its children. */
const storeSocket = join(
  tmpdir(),
  `memraft-stand-in-${cluster.isPrimary ? process.pid : process.ppid}.sock`,
);
const stored = Buffer.from("STORED\r\n");
const end = Buffer.from("END\r\n");
const setOp = 1;
const getOp = 0;

/** The reply to one request, from the Map. */
function answer(data: Map<string, Buffer>, op: number, key: string, value: Buffer): Buffer {
  if (op === setOp) {
    data.set(key, Buffer.from(value));
    return stored;
  }
  const found = data.get(key);
  if (found === undefined) return end;
  const head = Buffer.from(`VALUE ${key} 0 ${found.length}\r\n`, "latin1");
  return Buffer.concat([head, found, Buffer.from("\r\nEND\r\n")]);
}

/** Calls `onRequest` for each whole get or set in a client's byte stream. */
function requestParser(
  onRequest: (op: number, key: string, value: Buffer) => void,
): (chunk: Buffer) => void {
  let held: Buffer = Buffer.alloc(0);
  let bodyBytes = -1;
  let setKey = "";
  return (chunk) => {
    const input = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (bodyBytes >= 0) {
        if (input.length - at < bodyBytes + 2) break;
        onRequest(setOp, setKey, input.subarray(at, at + bodyBytes));
        at += bodyBytes + 2;
        bodyBytes = -1;
        continue;
      }
      const lineEnd = input.indexOf(10, at);
      if (lineEnd < 0) break;
      const words = input.toString("latin1", at, lineEnd - 1).split(" ");
      if (words[0] === "set") {
        setKey = words[1] ?? "";
        bodyBytes = Number(words[4]);
      } else {
        onRequest(getOp, words[1] ?? "", end);
      }
      at = lineEnd + 1;
    }
    held = input.subarray(at);
  };
}

/** Calls `onFrame` for each length-prefixed frame in a byte stream. */
function frameReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let held: Buffer = Buffer.alloc(0);
  return (chunk) => {
    const input = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    let at = 0;
    while (input.length - at >= 4) {
      const length = input.readUInt32LE(at);
      if (input.length - at < 4 + length) break;
      onFrame(input.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    held = input.subarray(at);
  };
}

/** Queues buffers for a socket and writes them as one, once per event-loop turn. */
function batchedWriter(socket: net.Socket): (bytes: Buffer) => void {
  let queued: Buffer[] = [];
  return (bytes) => {
    if (queued.length === 0) {
      setImmediate(() => {
        socket.write(queued.length === 1 ? queued[0]! : Buffer.concat(queued));
        queued = [];
      });
    }
    queued.push(bytes);
  };
}

function serveInline(): void {
  const data = new Map<string, Buffer>();
  net
    .createServer((client) => {
      client.setNoDelay(true);
      client.on(
        "data",
        requestParser((op, key, value) => client.write(answer(data, op, key, value))),
      );
    })
    .listen(port, "127.0.0.1");
}

/** The store process: frames are [connection u32][op u8][key length u8][key][value]. */
function serveStore(): void {
  rmSync(storeSocket, { force: true });
  // The workers leave when this process does (their IPC channel closes).
  process.once("SIGTERM", () => {
    rmSync(storeSocket, { force: true });
    process.exit(0);
  });
  const data = new Map<string, Buffer>();
  net
    .createServer((link) => {
      const send = batchedWriter(link);
      link.on(
        "data",
        frameReader((frame) => {
          const keyEnd = 6 + frame[5]!;
          const reply = answer(
            data,
            frame[4]!,
            frame.toString("latin1", 6, keyEnd),
            frame.subarray(keyEnd),
          );
          const head = Buffer.allocUnsafe(8);
          head.writeUInt32LE(4 + reply.length, 0);
          head.writeUInt32LE(frame.readUInt32LE(0), 4);
          send(head);
          send(reply);
        }),
      );
    })
    .listen(storeSocket, () => {
      for (let i = 0; i < workers; i++) cluster.fork();
    });
}

function serveWorker(): void {
  const clients = new Map<number, net.Socket>();
  const link = net.connect(storeSocket);
  const send = batchedWriter(link);
  link.on(
    "data",
    frameReader((frame) => clients.get(frame.readUInt32LE(0))?.write(frame.subarray(4))),
  );
  let nextConnection = 1;
  net
    .createServer((client) => {
      const connection = nextConnection++;
      clients.set(connection, client);
      client.setNoDelay(true);
      client.on("close", () => clients.delete(connection));
      client.on(
        "data",
        requestParser((op, key, value) => {
          const valueBytes = op === setOp ? value.length : 0;
          const frame = Buffer.allocUnsafe(10 + key.length + valueBytes);
          frame.writeUInt32LE(6 + key.length + valueBytes, 0);
          frame.writeUInt32LE(connection, 4);
          frame[8] = op;
          frame[9] = key.length;
          frame.write(key, 10, "latin1");
          if (op === setOp) value.copy(frame, 10 + key.length);
          send(frame);
        }),
      );
    })
    .listen(port, "127.0.0.1");
}

if (workers === 0) serveInline();
else if (cluster.isPrimary) serveStore();
else serveWorker();
