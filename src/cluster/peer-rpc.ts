// Requests between the nodes of a cluster (forwarded client commands,
// snapshot files), carried as application payloads on the Raft transport's
// connection to each peer. Every request has a timeout, and the number of
// requests waiting for answers is bounded.
//
//   request:   u8 1, u32 request id, u8 method, body
//   response:  u8 2, u32 request id, u8 status, then
//              status 0: the body; status 1: u8 code length, code,
//              u32 message length, message (utf8), context (JSON, utf8)
//
// Errors travel as their MemraftError code, message and context, so a
// caller can tell "not the leader" from "timed out" whichever node it
// happened on, and use what the error knows (such as who leads instead).

import { type ErrorContext, MemraftError, type MemraftErrorCode } from "../util/errors.js";
import type { Logger } from "../util/logger.js";

const requestTag = 1;
const responseTag = 2;
const statusOk = 0;
const statusError = 1;
const headerBytes = 6;
const requestIdLimit = 0x1_0000_0000;

/** How payloads reach a peer (the Raft transport's application channel). */
export interface PayloadLink {
  sendApplication(to: number, payload: Buffer): boolean;
  /** Whether a connection to the peer is up now. */
  connected(to: number): boolean;
}

export type RequestHandler = (from: number, body: Buffer) => Promise<Buffer>;

interface Waiting {
  readonly to: number;
  readonly resolve: (body: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface PeerRpcOptions {
  readonly link: PayloadLink;
  /** This node: a request to it is served here, without the network. */
  readonly selfId: number;
  readonly logger: Logger;
  /** Requests waiting for an answer at most; more are refused at once. */
  readonly pendingMax?: number;
}

export class PeerRpc {
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private readonly pendingMax: number;

  constructor(private readonly options: PeerRpcOptions) {
    this.pendingMax = options.pendingMax ?? 10_000;
  }

  handle(method: number, handler: RequestHandler): void {
    this.handlers.set(method, handler);
  }

  /** Asks node `to`; rejects with the remote error, ERR_TIMEOUT or ERR_UNAVAILABLE. */
  call(to: number, method: number, body: Buffer, timeoutMs: number): Promise<Buffer> {
    if (to === this.options.selfId) return this.serveHere(method, body);
    if (this.waiting.size >= this.pendingMax) {
      return Promise.reject(
        new MemraftError(
          "ERR_QUEUE_FULL",
          `${this.waiting.size} requests to peers are already waiting`,
        ),
      );
    }
    const id = this.nextId;
    this.nextId = (this.nextId % (requestIdLimit - 1)) + 1;
    const payload = Buffer.allocUnsafe(headerBytes + body.length);
    payload[0] = requestTag;
    payload.writeUInt32LE(id, 1);
    payload[5] = method;
    body.copy(payload, headerBytes);
    return new Promise((resolve, reject) => {
      // Not connected: refused now, rather than queued for a peer that may
      // be gone (nothing was sent, so the caller may safely try elsewhere).
      if (!this.options.link.connected(to) || !this.options.link.sendApplication(to, payload)) {
        reject(new MemraftError("ERR_UNAVAILABLE", `cannot reach node ${to}`, { node: to }));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new MemraftError("ERR_TIMEOUT", `node ${to} did not answer in ${timeoutMs} ms`, {
            node: to,
            method,
          }),
        );
      }, timeoutMs);
      this.waiting.set(id, { to, resolve, reject, timer });
    });
  }

  /** Takes the payloads a peer sent (wire to the transport's deliverApplication). */
  receive(from: number, payloads: readonly Buffer[]): void {
    for (const payload of payloads) {
      if (payload.length < headerBytes) {
        this.options.logger.warn(
          { from, bytes: payload.length },
          "peer rpc: short payload dropped",
        );
        continue;
      }
      const id = payload.readUInt32LE(1);
      if (payload[0] === requestTag)
        this.serve(from, id, payload[5]!, payload.subarray(headerBytes));
      else if (payload[0] === responseTag)
        this.answer(id, payload[5]!, payload.subarray(headerBytes));
      else this.options.logger.warn({ from, tag: payload[0] }, "peer rpc: unknown payload dropped");
    }
  }

  /**
   * The connection to a peer was lost: its answers will not come, so the
   * requests waiting for them fail now, their fate unknown (ERR_TIMEOUT),
   * instead of at their deadline.
   */
  peerLost(peer: number): void {
    for (const [id, waiting] of this.waiting) {
      if (waiting.to !== peer) continue;
      this.waiting.delete(id);
      clearTimeout(waiting.timer);
      waiting.reject(
        new MemraftError("ERR_TIMEOUT", `connection to node ${peer} lost before its answer`, {
          node: peer,
        }),
      );
    }
  }

  /** Fails every waiting request (the node is shutting down). */
  close(): void {
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new MemraftError("ERR_CLOSED", "node is shutting down", { request: id }));
    }
    this.waiting.clear();
  }

  private serve(from: number, id: number, method: number, body: Buffer): void {
    const handler = this.handlers.get(method);
    const reply = (status: number, reply: Buffer) => {
      const payload = Buffer.allocUnsafe(headerBytes + reply.length);
      payload[0] = responseTag;
      payload.writeUInt32LE(id, 1);
      payload[5] = status;
      reply.copy(payload, headerBytes);
      this.options.link.sendApplication(from, payload);
    };
    const failed = (error: unknown) => reply(statusError, encodeError(error));
    if (handler === undefined) {
      failed(new MemraftError("ERR_CONFIG", `no handler for method ${method}`));
      return;
    }
    handler(from, body).then((result) => reply(statusOk, result), failed);
  }

  private async serveHere(method: number, body: Buffer): Promise<Buffer> {
    const handler = this.handlers.get(method);
    if (handler === undefined) {
      throw new MemraftError("ERR_CONFIG", `no handler for method ${method}`);
    }
    return handler(this.options.selfId, body);
  }

  private answer(id: number, status: number, body: Buffer): void {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    if (status === statusOk) waiting.resolve(Buffer.from(body));
    else waiting.reject(decodeError(body));
  }
}

function encodeError(error: unknown): Buffer {
  const code = MemraftError.is(error) ? error.code : "ERR_UNAVAILABLE";
  const message = Buffer.from(error instanceof Error ? error.message : String(error), "utf8");
  const context = Buffer.from(
    JSON.stringify(MemraftError.is(error) ? error.context : {}, (_key, value) =>
      typeof value === "bigint" ? value.toString() : value,
    ),
    "utf8",
  );
  const bytes = Buffer.allocUnsafe(1 + code.length + 4 + message.length + context.length);
  bytes[0] = code.length;
  bytes.write(code, 1, "latin1");
  bytes.writeUInt32LE(message.length, 1 + code.length);
  message.copy(bytes, 5 + code.length);
  context.copy(bytes, 5 + code.length + message.length);
  return bytes;
}

function decodeError(body: Buffer): MemraftError {
  const codeLength = body[0] ?? 0;
  const code = body.toString("latin1", 1, 1 + codeLength) as MemraftErrorCode;
  const messageAt = 5 + codeLength;
  const messageLength = body.length >= messageAt ? body.readUInt32LE(1 + codeLength) : 0;
  const message = body.toString("utf8", messageAt, messageAt + messageLength);
  let context: ErrorContext = {};
  try {
    context = JSON.parse(body.toString("utf8", messageAt + messageLength)) as ErrorContext;
  } catch {
    // A peer's context that does not parse still leaves its code and message.
    context = { contextMalformed: true };
  }
  return new MemraftError(code, message, { ...context, remote: true });
}
