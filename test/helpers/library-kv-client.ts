// The node `memcached` client library behind the interface the kv workload
// uses (KvClient's), so a workload's history comes from a real client: what
// an application would send and what it would be told. Any error the
// library reports (SERVER_ERROR, a lost connection, its own timeout) is an
// unknown outcome: the command may or may not have taken effect.

import Memcached from "memcached";
import type { Endpoint, KvReply } from "./kv-client.js";

export class LibraryKvClient {
  private client: Memcached | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly replyTimeoutMs: number,
  ) {}

  /** The library connects by itself when asked something; nothing to do here. */
  async connect(): Promise<boolean> {
    this.client ??= new Memcached(`${this.endpoint.host}:${this.endpoint.port}`, {
      retries: 0,
      timeout: this.replyTimeoutMs,
      // Never give up on the server for long: a failed node comes back.
      failures: 1_000_000,
      retry: 100,
      reconnect: 100,
      poolSize: 1,
    });
    return true;
  }

  get(key: string): Promise<KvReply> {
    return this.call(
      (done) => this.client!.get(key, done),
      (data) => ({
        kind: "value",
        value: data === undefined ? undefined : String(data),
      }),
    );
  }

  set(key: string, value: string): Promise<KvReply> {
    return this.call((done) => this.client!.set(key, value, 0, done), storedOrNot);
  }

  append(key: string, value: string): Promise<KvReply> {
    return this.call((done) => this.client!.append(key, value, done), storedOrNot);
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }

  private call<T>(
    send: (done: (error: unknown, result: T) => void) => void,
    reply: (result: T) => KvReply,
  ): Promise<KvReply> {
    return new Promise((resolve) =>
      send((error, result) => {
        if (error) {
          this.close();
          const reason = error instanceof Error ? error.message : String(error);
          resolve({ kind: "unknown", reason: `library: ${reason.split("\n")[0]}` });
          return;
        }
        resolve(reply(result));
      }),
    );
  }
}

function storedOrNot(stored: boolean): KvReply {
  return { kind: "line", line: stored ? "STORED" : "NOT_STORED" };
}
