// Runs parsed commands against the store and writes memcached's replies.
// One executor serves every connection of a server. A command either
// finishes at once (the in-memory store), or returns a promise that settles
// once its reply is written, or asks its connection for an action (close,
// shut down, stream a long reply).
//
// Counters follow memcached 1.6.18: a multiget counts per key; gat/gats
// count as touches; meta commands count as the classic command they behave
// like; only `me` counts in cmd_meta.

import type {
  ArithmeticCommand,
  Command,
  DeleteCommand,
  FlushAllCommand,
  RetrievalCommand,
  StorageCommand,
  TouchCommand,
} from "../protocol/commands.js";
import type { OutputBuffer } from "../protocol/output-buffer.js";
import { replies } from "../protocol/replies.js";
import type { Clock } from "../store/clock.js";
import type {
  ArithmeticResult,
  ItemView,
  MaybePromise,
  Store,
  StoreResult,
} from "../store/store.js";
import { unreachable } from "../util/assert.js";
import { executeAdmin } from "./admin-commands.js";
import { type ClusterAdmin, executeCluster } from "./cluster-commands.js";
import type { DetailStats } from "./detail-stats.js";
import { executeMeta } from "./meta-commands.js";
import type { ServerSettings } from "./settings.js";
import type { ServerCounters, StatLine, StatsContext } from "./stats.js";

/** Something the connection must do beyond writing the reply. */
export type ConnectionAction =
  | { readonly kind: "close" }
  | { readonly kind: "shutdown"; readonly graceful: boolean }
  | {
      readonly kind: "stream";
      /** Writes the next part; resolves true when the reply is complete. */
      readonly writeNext: (out: OutputBuffer) => Promise<boolean>;
    };

export type Outcome = undefined | Promise<void> | ConnectionAction;

/** Server-wide state commands can change. */
export interface ServerState {
  verbosity: number;
  readonly detail: DetailStats;
}

export interface ExecutionContext {
  readonly store: Store;
  readonly counters: ServerCounters;
  readonly settings: ServerSettings;
  readonly state: ServerState;
  readonly clock: Clock;
  /** The cluster behind the store, for memraft's `cluster` commands; absent without one. */
  readonly cluster?: ClusterAdmin | undefined;
  statsContext(): StatsContext;
  /** `stats conns` lines; `requester` is the connection asking. */
  connectionLines(requester: number): StatLine[];
}

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** Runs `then` on a value now, or when its promise settles. */
export function whenReady<T>(
  value: MaybePromise<T>,
  then: (ready: T) => void,
): Promise<void> | undefined {
  if (isPromise(value)) return value.then(then);
  then(value);
  return undefined;
}

export class Executor {
  constructor(private readonly context: ExecutionContext) {}

  execute(command: Command, out: OutputBuffer, connectionId: number): Outcome {
    switch (command.kind) {
      case "get":
        return this.retrieve(command, out);
      case "store":
        return this.store(command, out);
      case "delete":
        return this.delete(command, out);
      case "arithmetic":
        return this.arithmetic(command, out);
      case "touch":
        return this.touch(command, out);
      case "flush_all":
        return this.flushAll(command, out);
      case "reply":
        if (command.discardUnsent === true) out.discard();
        if (!command.noreply) out.line(command.line);
        return undefined;
      case "version":
        out.text("VERSION ").line(this.context.settings.protocolVersion);
        return undefined;
      case "quit":
        return { kind: "close" };
      case "mn":
        out.line("MN");
        return undefined;
      case "mg":
      case "ms":
      case "md":
      case "ma":
      case "me":
        return executeMeta(this.context, command, out);
      case "verbosity":
      case "cache_memlimit":
      case "stats":
      case "stats_cachedump":
      case "shutdown":
      case "lru_crawler_metadump":
        return executeAdmin(this.context, command, out, connectionId);
      case "cluster_status":
      case "cluster_apply":
        return executeCluster(this.context.cluster, command, out);
      default:
        return unreachable(command);
    }
  }

  private retrieve(command: RetrievalCommand, out: OutputBuffer): Outcome {
    const { store } = this.context;
    const { keys, touchExptime } = command;
    if (keys.length === 1) {
      return whenReady(store.get(keys[0]!, touchExptime), (item) => {
        this.writeValue(command, 0, item, out);
        out.line(replies.end);
      });
    }
    const found = keys.map((key) => store.get(key, touchExptime));
    const write = (items: readonly (ItemView | undefined)[]) => {
      for (let i = 0; i < items.length; i++) this.writeValue(command, i, items[i], out);
      out.line(replies.end);
    };
    if (found.some(isPromise)) return Promise.all(found).then(write);
    write(found as (ItemView | undefined)[]);
    return undefined;
  }

  private writeValue(
    command: RetrievalCommand,
    index: number,
    item: ItemView | undefined,
    out: OutputBuffer,
  ): void {
    const { counters, state } = this.context;
    const key = command.keys[index]!;
    const hit = item !== undefined;
    if (command.touchExptime === undefined) {
      counters.cmdGet++;
      if (hit) counters.getHits++;
      else counters.getMisses++;
    } else {
      counters.cmdTouch++;
      if (hit) counters.touchHits++;
      else counters.touchMisses++;
    }
    state.detail.recordGet(key, hit);
    if (!hit) return;
    out
      .text("VALUE ")
      .text(key)
      .byte(0x20)
      .decimal(item.flags)
      .byte(0x20)
      .decimal(item.value.length);
    if (command.returnCas) out.byte(0x20).bigDecimal(item.cas);
    out.crlf().bytes(item.value).crlf();
  }

  private store(command: StorageCommand, out: OutputBuffer): Outcome {
    const { store, counters, state } = this.context;
    state.detail.recordSet(command.key);
    if (command.tooLarge) {
      counters.storeTooLarge++;
      const reply = () => {
        if (!command.noreply) out.line(replies.tooLarge);
      };
      // memcached drops the old value so that a failed set cannot leave it readable.
      if (command.mode === "set") return whenReady(store.delete({ key: command.key }), reply);
      reply();
      return undefined;
    }
    counters.cmdSet++;
    return whenReady(store.store(command), (result) => {
      countStore(counters, command.mode, result);
      if (!command.noreply) out.line(storeReplies[result.status]);
    });
  }

  private delete(command: DeleteCommand, out: OutputBuffer): Outcome {
    const { store, counters, state } = this.context;
    state.detail.recordDelete(command.key);
    return whenReady(store.delete({ key: command.key }), (status) => {
      if (status === "deleted") counters.deleteHits++;
      else counters.deleteMisses++;
      if (command.noreply) return;
      out.line(status === "deleted" ? replies.deleted : replies.notFound);
    });
  }

  private arithmetic(command: ArithmeticCommand, out: OutputBuffer): Outcome {
    const { store, counters } = this.context;
    return whenReady(store.arithmetic(command), (result) => {
      countArithmetic(counters, command.incr, result);
      if (command.noreply || writeArithmeticFailure(out, result.status)) return;
      if (result.status === "ok") out.bigDecimal(result.value).crlf();
      else if (result.status === "not_found") out.line(replies.notFound);
      // Classic incr/decr carry no cas, so no other status can come back.
      else out.line(replies.error);
    });
  }

  private touch(command: TouchCommand, out: OutputBuffer): Outcome {
    const { store, counters } = this.context;
    return whenReady(store.touch(command.key, command.exptime), (touched) => {
      counters.cmdTouch++;
      if (touched) counters.touchHits++;
      else counters.touchMisses++;
      if (!command.noreply) out.line(touched ? replies.touched : replies.notFound);
    });
  }

  private flushAll(command: FlushAllCommand, out: OutputBuffer): Outcome {
    const { store, counters, settings } = this.context;
    counters.cmdFlush++;
    if (!settings.flushEnabled) {
      if (!command.noreply) out.line(replies.flushDisabled);
      return undefined;
    }
    return whenReady(store.flushAll(command.delay), () => {
      if (!command.noreply) out.line(replies.ok);
    });
  }
}

export const storeReplies: Readonly<Record<StoreResult["status"], string>> = {
  stored: replies.stored,
  not_stored: replies.notStored,
  exists: replies.exists,
  not_found: replies.notFound,
  no_memory: replies.outOfMemoryStoring,
};

export function countStore(counters: ServerCounters, mode: string, result: StoreResult): void {
  if (mode !== "cas") return;
  if (result.status === "stored") counters.casHits++;
  else if (result.status === "exists") counters.casBadval++;
  else if (result.status === "not_found") counters.casMisses++;
}

/** Writes the reply for the arithmetic failures every form shares; false for the others. */
export function writeArithmeticFailure(
  out: OutputBuffer,
  status: ArithmeticResult["status"],
): boolean {
  if (status === "non_numeric") out.line(replies.nonNumeric);
  else if (status === "no_memory") out.line(replies.outOfMemory);
  else return false;
  return true;
}

export function countArithmetic(
  counters: ServerCounters,
  incr: boolean,
  result: ArithmeticResult,
): void {
  if (result.status === "ok") {
    if (incr) counters.incrHits++;
    else counters.decrHits++;
  } else if (result.status === "not_found") {
    if (incr) counters.incrMisses++;
    else counters.decrMisses++;
  }
}
