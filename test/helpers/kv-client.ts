// A memcached text client for workloads whose histories are checked: one
// request at a time on one connection, each ending in a definite reply or in
// an unknown outcome. Unknown means the command may or may not have taken
// effect: the connection was lost, the server answered SERVER_ERROR (memraft
// does when a leader was lost mid-command), or no reply came in time. After
// an unknown outcome the connection is closed; the next request opens a
// new one.
//
// Values are latin1 text without CR or LF (the workloads' tokens).

import { RawClient } from "./raw-client.js";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type KvReply =
  /** A get's value; undefined for a miss. */
  | { readonly kind: "value"; readonly value: string | undefined }
  /** A one-line reply such as STORED or NOT_STORED. */
  | { readonly kind: "line"; readonly line: string }
  | { readonly kind: "unknown"; readonly reason: string };

export class KvClient {
  private connection: RawClient | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly replyTimeoutMs: number,
  ) {}

  /**
   * Opens the connection if there is none; false if the node does not
   * accept it (a command not sent cannot have taken effect).
   */
  async connect(): Promise<boolean> {
    if (this.connection !== undefined && !this.connection.isClosed) return true;
    this.connection = undefined;
    try {
      this.connection = await RawClient.connect(this.endpoint.port, this.endpoint.host);
      return true;
    } catch {
      return false;
    }
  }

  get(key: string): Promise<KvReply> {
    return this.request(`get ${key}\r\n`);
  }

  set(key: string, value: string): Promise<KvReply> {
    return this.request(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`);
  }

  append(key: string, value: string): Promise<KvReply> {
    return this.request(`append ${key} 0 0 ${value.length}\r\n${value}\r\n`);
  }

  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  /** REQUIRES: connect() returned true since the last unknown outcome. */
  private async request(text: string): Promise<KvReply> {
    const connection = this.connection;
    if (connection === undefined) throw new Error("KvClient: request before connect()");
    connection.discard();
    await connection.write(text);
    let received: Buffer;
    try {
      received = await connection.until(
        (bytes) => parseReply(bytes) !== undefined,
        this.replyTimeoutMs,
      );
    } catch {
      return this.unknown(`no reply within ${this.replyTimeoutMs} ms`);
    }
    const reply = parseReply(received);
    if (reply === undefined) return this.unknown("connection closed before the reply");
    if (reply.kind === "line" && reply.line.startsWith("SERVER_ERROR"))
      return this.unknown(reply.line);
    return reply;
  }

  private unknown(reason: string): KvReply {
    this.close();
    return { kind: "unknown", reason };
  }
}

/** A complete reply at the start of `bytes`, or undefined if more must arrive. */
function parseReply(bytes: Buffer): KvReply | undefined {
  const lineEnd = bytes.indexOf("\r\n");
  if (lineEnd < 0) return undefined;
  const line = bytes.toString("latin1", 0, lineEnd);
  if (line === "END") return { kind: "value", value: undefined };
  if (!line.startsWith("VALUE ")) return { kind: "line", line };
  const length = Number(line.split(" ")[3]);
  const valueStart = lineEnd + 2;
  const end = Buffer.from("\r\nEND\r\n", "latin1");
  if (bytes.length < valueStart + length + end.length) return undefined;
  return { kind: "value", value: bytes.toString("latin1", valueStart, valueStart + length) };
}
