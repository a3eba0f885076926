// The TCP listener: accepts memcached clients, enforces the connection
// limit the way memcached does (`ERROR Too many open connections`, then
// close), keeps the counters `stats` reports, and shuts down gracefully:
// stop accepting, answer what each client has already sent, close.

import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { SlabPool } from "../protocol/output-buffer.js";
import { replies } from "../protocol/replies.js";
import type { ParserOptions } from "../protocol/text-parser.js";
import type { Clock } from "../store/clock.js";
import type { Store } from "../store/store.js";
import { assert } from "../util/assert.js";
import type { Logger } from "../util/logger.js";
import type { ClusterAdmin } from "./cluster-commands.js";
import { Connection, type ConnectionHost } from "./connection.js";
import { DetailStats } from "./detail-stats.js";
import { Executor, type ServerState } from "./executor.js";
import { shutdownGraceMs } from "./limits.js";
import type { ServerSettings } from "./settings.js";
import { ServerCounters, type StatLine, type StatsContext } from "./stats.js";

export interface MemcachedServerOptions {
  readonly settings: ServerSettings;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly memraftVersion: string;
  /** Called when a client sends an enabled `shutdown`. */
  readonly onShutdownRequest?: (graceful: boolean) => void;
  /** The cluster behind the store, for memraft's `cluster` commands. */
  readonly cluster?: ClusterAdmin;
}

export class MemcachedServer implements ConnectionHost {
  readonly counters = new ServerCounters();
  readonly pool = new SlabPool();
  readonly executor: Executor;
  readonly parserOptions: ParserOptions;
  readonly logger: Logger;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly state: ServerState = { verbosity: 0, detail: new DetailStats() };
  private readonly startedAtSeconds: number;
  private nextConnectionId = 1;
  private accepting = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MemcachedServerOptions) {
    this.logger = options.logger.child({ component: "server" });
    this.parserOptions = {
      itemSizeMaxBytes: options.settings.itemSizeMaxBytes,
      clusterCommands: options.cluster !== undefined,
    };
    this.startedAtSeconds = options.clock.nowSeconds();
    this.executor = new Executor({
      store: options.store,
      cluster: options.cluster,
      counters: this.counters,
      settings: options.settings,
      state: this.state,
      clock: options.clock,
      statsContext: () => this.statsContext(),
      connectionLines: (requester) => this.connectionLines(requester),
    });
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on("error", (error) => this.logger.error({ err: error }, "listener error"));
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<AddressInfo> {
    const { host, port } = this.options.settings;
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      this.server.once("error", failed);
      this.server.listen({ host, port, backlog: 1024 }, () => {
        this.server.off("error", failed);
        this.accepting = true;
        const address = this.address();
        this.logger.info({ host: address.address, port: address.port }, "listening");
        resolve(address);
      });
    });
  }

  address(): AddressInfo {
    const address = this.server.address();
    assert(address !== null && typeof address === "object", "server is not listening");
    return address;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Graceful shutdown: stop accepting, let every connection answer what it
   * has received, then close. Connections still open after the grace period
   * are cut.
   */
  close(): Promise<void> {
    this.closing ??= this.closeGracefully();
    return this.closing;
  }

  nowSeconds = (): number => this.options.clock.nowSeconds();

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
  }

  shutdownRequested(graceful: boolean): void {
    this.logger.info({ graceful }, "shutdown requested by a client");
    this.options.onShutdownRequest?.(graceful);
  }

  private accept(socket: Socket): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.options.settings.maxConnections) {
      this.counters.rejectedConnections++;
      // The client may already be gone; there is nothing to tell it then.
      socket.on("error", () => {});
      socket.end(`${replies.tooManyConnections}\r\n`, () => socket.destroy());
      return;
    }
    this.counters.totalConnections++;
    const connection = new Connection(this.nextConnectionId++, socket, this);
    this.connections.add(connection);
    this.logger.debug({ connection: connection.id, remote: connection.remoteAddress }, "accepted");
  }

  private async closeGracefully(): Promise<void> {
    this.accepting = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.drain();
    const deadline = setTimeout(() => {
      for (const connection of this.connections) connection.destroy();
    }, shutdownGraceMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
    await this.options.store.close();
    this.logger.info("closed");
  }

  private statsContext(): StatsContext {
    return {
      counters: this.counters,
      store: this.options.store.stats(),
      settings: this.options.settings,
      startedAtSeconds: this.startedAtSeconds,
      nowSeconds: this.nowSeconds(),
      currentConnections: this.connections.size,
      listenerCount: 1,
      acceptingConnections: this.accepting,
      verbosity: this.state.verbosity,
      detailEnabled: this.state.detail.enabled,
      memraftVersion: this.options.memraftVersion,
    };
  }

  private connectionLines(requester: number): StatLine[] {
    const now = this.nowSeconds();
    const { host, port } = this.options.settings;
    const listen = `tcp:${host}:${this.address().port || port}`;
    const lines: StatLine[] = [
      ["0:addr", listen],
      ["0:state", "conn_listening"],
      ["0:secs_since_last_cmd", now - this.startedAtSeconds],
    ];
    for (const connection of this.connections) {
      const id = connection.id;
      lines.push(
        [`${id}:addr`, `tcp:${connection.remoteAddress}`],
        [`${id}:listen_addr`, listen],
        [`${id}:state`, id === requester ? "conn_parse_cmd" : connection.state()],
        [`${id}:secs_since_last_cmd`, now - connection.lastCommandSeconds],
      );
    }
    return lines;
  }
}
