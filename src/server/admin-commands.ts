// Administrative commands: stats and its sub-reports, verbosity,
// cache_memlimit, shutdown and the key dumps memcached tools use
// (`stats cachedump` for memcdump, `lru_crawler metadump` for
// memcached-tool). Sub-reports always end with END: the Prometheus exporter
// waits for it.

import type {
  CacheMemlimitCommand,
  MetadumpCommand,
  ShutdownCommand,
  StatsCachedumpCommand,
  StatsCommand,
  VerbosityCommand,
} from "../protocol/commands.js";
import { verbosityMax } from "../protocol/limits.js";
import type { OutputBuffer } from "../protocol/output-buffer.js";
import { replies } from "../protocol/replies.js";
import { unreachable } from "../util/assert.js";
import type { ExecutionContext, Outcome } from "./executor.js";
import { generalStats, itemsStats, type StatLine, settingsStats, slabsStats } from "./stats.js";

type AdminCommand =
  | VerbosityCommand
  | CacheMemlimitCommand
  | StatsCommand
  | StatsCachedumpCommand
  | ShutdownCommand
  | MetadumpCommand;

/** memcached stops a cachedump at 2 MB of output. */
const cachedumpBytesMax = 2 * 1024 * 1024;
/** Items written per turn of a metadump, between checks for backpressure. */
const metadumpItemsPerTurn = 1000;

export function executeAdmin(
  context: ExecutionContext,
  command: AdminCommand,
  out: OutputBuffer,
  connectionId: number,
): Outcome {
  switch (command.kind) {
    case "verbosity":
      context.state.verbosity = Math.min(command.level, verbosityMax);
      if (!command.noreply) out.line(replies.ok);
      return undefined;
    case "cache_memlimit":
      context.store.setMemoryLimit(command.megabytes * 1024 * 1024);
      if (!command.noreply) out.line(replies.ok);
      return undefined;
    case "stats":
      writeStats(context, command, out, connectionId);
      return undefined;
    case "stats_cachedump":
      return writeCachedump(context, command, out);
    case "shutdown":
      if (!context.settings.shutdownEnabled) {
        out.line(replies.shutdownDisabled);
        return undefined;
      }
      if (command.mode === "invalid") {
        out.line(replies.invalidShutdownMode);
        return undefined;
      }
      return { kind: "shutdown", graceful: command.mode === "graceful" };
    case "lru_crawler_metadump":
      return metadump(context);
    default:
      return unreachable(command);
  }
}

function writeStatLines(out: OutputBuffer, lines: readonly StatLine[]): void {
  for (const [name, value] of lines) {
    out.text("STAT ").text(name).byte(0x20).text(String(value)).crlf();
  }
  out.line(replies.end);
}

function writeStats(
  context: ExecutionContext,
  command: StatsCommand,
  out: OutputBuffer,
  connectionId: number,
): void {
  const { state } = context;
  switch (command.group) {
    case "general":
      writeStatLines(out, generalStats(context.statsContext()));
      return;
    case "settings":
      writeStatLines(out, settingsStats(context.statsContext()));
      return;
    case "items":
      writeStatLines(out, itemsStats(context.statsContext()));
      return;
    case "slabs":
      writeStatLines(out, slabsStats(context.statsContext()));
      return;
    case "sizes":
      writeStatLines(out, [["sizes_status", "disabled"]]);
      return;
    case "conns":
      writeStatLines(out, context.connectionLines(connectionId));
      return;
    case "reset":
      context.counters.reset();
      state.detail.clear();
      out.line(replies.reset);
      return;
    case "detail on":
    case "detail off":
      state.detail.enabled = command.group === "detail on";
      out.line(replies.ok);
      return;
    case "detail dump":
      for (const line of state.detail.dumpLines()) out.line(line);
      out.line(replies.end);
      return;
    default:
      unreachable(command.group);
  }
}

/** `ITEM <key> [<bytes> b; <exptime> s]` lines; every item lives in class 1. */
async function writeCachedump(
  context: ExecutionContext,
  command: StatsCachedumpCommand,
  out: OutputBuffer,
): Promise<void> {
  if (command.slabClass === 1) {
    let written = 0;
    let bytes = 0;
    const items = context.store.items();
    for (let next = await items.next(); next.done !== true; next = await items.next()) {
      if (command.limit !== 0 && written >= command.limit) break;
      const [key, item] = next.value;
      const line = `ITEM ${key} [${item.value.length} b; ${item.exptime} s]`;
      bytes += line.length + 2;
      if (bytes > cachedumpBytesMax) break;
      out.line(line);
      written++;
    }
    await items.return?.();
  }
  out.line(replies.end);
}

/**
 * `lru_crawler metadump`: one line per item, streamed in turns so that a
 * large store neither blocks the event loop nor buffers its whole listing.
 */
function metadump(context: ExecutionContext): Outcome {
  const items = context.store.items();
  return {
    kind: "stream",
    writeNext: async (out) => {
      for (let i = 0; i < metadumpItemsPerTurn; i++) {
        const next = await items.next();
        if (next.done === true) {
          out.line(replies.end);
          return true;
        }
        const [key, item] = next.value;
        const exp = item.exptime === 0 ? -1 : item.exptime;
        out.text(`key=${encodeURIComponentBytes(key)} exp=${exp} la=${item.accessTime}`);
        out.text(
          ` cas=${item.cas} fetch=${item.fetched ? "yes" : "no"} cls=1 size=${item.totalBytes}\n`,
        );
      }
      return false;
    },
  };
}

/** memcached's uriencode over a latin1 key: unreserved bytes kept, others %XX. */
function encodeURIComponentBytes(key: string): string {
  let encoded = "";
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    const unreserved =
      (code >= 0x30 && code <= 0x39) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x61 && code <= 0x7a) ||
      code === 0x2d ||
      code === 0x2e ||
      code === 0x5f ||
      code === 0x7e;
    encoded += unreserved ? key[i] : `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}
