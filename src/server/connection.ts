// One client connection: bytes in, commands through the executor, replies
// out in request order.
//
// Commands run strictly one after another, as in memcached: a command whose
// store operation is asynchronous holds back the next one until its reply is
// written. Replies produced while working through one batch of input go out
// in one socket write.
//
// Backpressure: when the socket's send buffer is full (the client is not
// reading its replies), the connection stops parsing and stops reading from
// the socket until the buffer drains, so one slow client costs bounded
// memory and never delays the others.

import type { Socket } from "node:net";
import { OutputBuffer, type SlabPool } from "../protocol/output-buffer.js";
import { type ParserOptions, TextParser } from "../protocol/text-parser.js";
import { unreachable } from "../util/assert.js";
import { MemraftError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import type { ConnectionAction, Executor, Outcome } from "./executor.js";
import { inputPauseBytes, outputFlushBytes } from "./limits.js";
import type { ServerCounters } from "./stats.js";

export interface ConnectionHost {
  readonly executor: Executor;
  readonly counters: ServerCounters;
  readonly pool: SlabPool;
  readonly parserOptions: ParserOptions;
  readonly logger: Logger;
  readonly nowSeconds: () => number;
  connectionClosed(connection: Connection): void;
  shutdownRequested(graceful: boolean): void;
}

export type ConnectionState = "conn_waiting" | "conn_nread" | "conn_mwrite" | "conn_parse_cmd";

export class Connection {
  private readonly parser: TextParser;
  private readonly out: OutputBuffer;
  private stream: ((out: OutputBuffer) => Promise<boolean>) | undefined;
  /** A command is waiting on the store. */
  private waiting = false;
  /** The socket's send buffer is full; resume on 'drain'. */
  private blocked = false;
  /** No more commands run: quit, a protocol violation or shutdown. */
  private finished = false;
  /** Stop reading new input, finish what arrived, then close (graceful shutdown). */
  private draining = false;
  lastCommandSeconds: number;
  /** -vv: log every command. Checked once, so that quiet servers build no log objects. */
  private readonly traceCommands: boolean;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.parser = new TextParser(host.parserOptions);
    this.out = new OutputBuffer(host.pool);
    this.lastCommandSeconds = host.nowSeconds();
    this.traceCommands = host.logger.isLevelEnabled("trace");
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("drain", () => this.drained());
    socket.on("error", (error) => {
      host.logger.debug({ connection: id, err: error }, "connection error");
    });
    socket.on("close", () => host.connectionClosed(this));
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get localAddress(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  state(): ConnectionState {
    if (this.blocked) return "conn_mwrite";
    if (this.parser.bufferedBytes > 0) return "conn_nread";
    return "conn_waiting";
  }

  /** Graceful shutdown: answer what has arrived, then close. */
  drain(): void {
    this.draining = true;
    this.socket.pause();
    this.run();
  }

  /** Closes at once, dropping unsent replies. */
  destroy(): void {
    this.finished = true;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.host.counters.bytesRead += chunk.length;
    if (this.finished) return;
    this.parser.push(chunk);
    if (this.waiting && this.parser.bufferedBytes > inputPauseBytes) this.socket.pause();
    if (!this.waiting && !this.blocked) this.run();
  }

  private drained(): void {
    if (!this.blocked) return;
    this.blocked = false;
    if (!this.draining) this.socket.resume();
    this.run();
  }

  /** Works through buffered input until it runs out or something must wait. */
  private run(): void {
    while (!this.finished && !this.waiting && !this.blocked) {
      if (this.out.pendingBytes >= outputFlushBytes && this.flush()) break;
      if (this.stream !== undefined) {
        const writeNext = this.stream;
        this.handle(
          writeNext(this.out).then((done) => {
            if (done && this.stream === writeNext) this.stream = undefined;
          }),
        );
        continue;
      }
      const result = this.parser.next();
      if (result.kind === "need-more") break;
      if (result.kind === "close") {
        this.host.logger.debug(
          { connection: this.id, reason: result.reason },
          "closing connection",
        );
        this.finish();
        return;
      }
      this.lastCommandSeconds = this.host.nowSeconds();
      if (this.traceCommands) {
        this.host.logger.trace({ connection: this.id, command: result.kind }, "command");
      }
      this.handle(this.host.executor.execute(result, this.out, this.id), true);
    }
    if (this.finished) return;
    this.flush();
    if (this.draining && !this.waiting && !this.blocked && this.stream === undefined) this.finish();
  }

  /** `whole`: the outcome of a whole command, which writes its reply only once it succeeds. */
  private handle(outcome: Outcome, whole = false): void {
    if (outcome === undefined) return;
    if (outcome instanceof Promise) {
      this.waiting = true;
      outcome.then(
        () => this.settled(),
        (error: unknown) => this.failed(error, whole),
      );
      return;
    }
    this.act(outcome);
  }

  private act(action: ConnectionAction): void {
    switch (action.kind) {
      case "close":
        this.finish();
        return;
      case "shutdown":
        this.finish();
        this.host.shutdownRequested(action.graceful);
        return;
      case "stream":
        this.stream = action.writeNext;
        return;
      default:
        unreachable(action);
    }
  }

  private settled(): void {
    this.waiting = false;
    if (!this.draining && !this.blocked) this.socket.resume();
    this.run();
  }

  private failed(error: unknown, wroteNothing: boolean): void {
    if (wroteNothing && isServiceError(error)) {
      // The store could not serve the command now (no leader, no answer in
      // time): memcached's way to say so is SERVER_ERROR, and the
      // connection stays usable.
      this.host.logger.debug({ connection: this.id, err: error }, "command failed");
      this.out.line(`SERVER_ERROR ${oneLine(error.message)}`);
      this.settled();
      return;
    }
    // Anything else (a bug, corruption, a stream cut midway): the client
    // cannot know what happened, so it must not see a reply it could trust.
    this.host.logger.error(
      { connection: this.id, err: error },
      "command failed; closing connection",
    );
    this.waiting = false;
    this.destroy();
  }

  /** Writes what is pending; returns true when the socket asked us to wait. */
  private flush(): boolean {
    const pieces = this.out.take();
    if (pieces.length === 0) return false;
    const socket = this.socket;
    let bytes = 0;
    if (pieces.length === 1) {
      bytes = pieces[0]!.length;
      socket.write(pieces[0]!);
    } else {
      socket.cork();
      for (const piece of pieces) {
        bytes += piece.length;
        socket.write(piece);
      }
      socket.uncork();
    }
    this.host.counters.bytesWritten += bytes;
    this.out.recycle(socket.writableLength === 0);
    if (!socket.writableNeedDrain) return false;
    this.blocked = true;
    socket.pause();
    return true;
  }

  /** Sends what is pending, then closes; nothing more is read or run. */
  private finish(): void {
    this.flush();
    this.finished = true;
    this.socket.end(() => this.socket.destroy());
  }
}

/** Failures of the moment that a client may retry: the store is fine, it just cannot answer now. */
function isServiceError(error: unknown): error is MemraftError {
  return (
    MemraftError.is(error, "ERR_UNAVAILABLE") ||
    MemraftError.is(error, "ERR_TIMEOUT") ||
    MemraftError.is(error, "ERR_NOT_LEADER") ||
    MemraftError.is(error, "ERR_QUEUE_FULL")
  );
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
