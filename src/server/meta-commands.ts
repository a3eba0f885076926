// Meta commands (mg, ms, md, ma, me) against the store, with memcached
// 1.6.18's reply shapes: a two-letter code, then the requested return flags
// in request order, then W/X/Z for mg. `q` hides only the nominal reply (EN
// for mg, HD for ms/md/ma); errors and NS/NF/EX are always sent.

import { encodeBase64Key } from "../protocol/base64-key.js";
import type {
  MetaArithmeticCommand,
  MetaDebugCommand,
  MetaDeleteCommand,
  MetaGetCommand,
  MetaSetCommand,
} from "../protocol/commands.js";
import type { OutputBuffer } from "../protocol/output-buffer.js";
import { replies } from "../protocol/replies.js";
import type { ItemView, MetaGetResult } from "../store/store.js";
import { unreachable } from "../util/assert.js";
import {
  countArithmetic,
  countStore,
  type ExecutionContext,
  type Outcome,
  storeReplies,
  whenReady,
  writeArithmeticFailure,
} from "./executor.js";

type MetaCommand =
  | MetaGetCommand
  | MetaSetCommand
  | MetaDeleteCommand
  | MetaArithmeticCommand
  | MetaDebugCommand;

export function executeMeta(
  context: ExecutionContext,
  command: MetaCommand,
  out: OutputBuffer,
): Outcome {
  switch (command.kind) {
    case "mg":
      return metaGet(context, command, out);
    case "ms":
      return metaSet(context, command, out);
    case "md":
      return metaDelete(context, command, out);
    case "ma":
      return metaArithmetic(context, command, out);
    case "me":
      return metaDebug(context, command, out);
    default:
      return unreachable(command);
  }
}

/** ` k<key>`, base64 with a trailing ` b` for keys that arrived encoded. */
function writeKey(out: OutputBuffer, key: string, binary: boolean): void {
  out.text(" k");
  if (binary) out.text(encodeBase64Key(key)).text(" b");
  else out.text(key);
}

/** The O and k flags, which every meta reply echoes in request order. */
function writeOpaqueAndKey(
  out: OutputBuffer,
  flags: string,
  command: MetaGetCommand | MetaSetCommand | MetaDeleteCommand | MetaArithmeticCommand,
  keyBinary: boolean,
): void {
  for (const flag of flags) {
    if (flag === "O") out.byte(0x20).text(command.opaque);
    else if (flag === "k") writeKey(out, command.key, keyBinary);
  }
}

function metaGet(context: ExecutionContext, command: MetaGetCommand, out: OutputBuffer): Outcome {
  return whenReady(context.store.metaGet(command), (result) => {
    const { counters } = context;
    const item = result.item;
    if (item === undefined) {
      counters.cmdGet++;
      counters.getMisses++;
      if (command.quiet) return;
      out.text("EN");
      writeOpaqueAndKey(out, command.returnFlags, command, command.keyBinary);
      out.crlf();
      return;
    }
    if (result.touched) {
      counters.cmdTouch++;
      counters.touchHits++;
    } else {
      counters.cmdGet++;
      counters.getHits++;
    }
    if (command.returnValue) out.text("VA ").decimal(item.value.length);
    else out.text("HD");
    writeMetaGetFlags(out, command, item, result);
    if (result.alreadyWon) out.text(" Z");
    if (result.stale) out.text(" X");
    if (result.won) out.text(" W");
    out.crlf();
    if (command.returnValue) out.bytes(item.value).crlf();
  });
}

function writeMetaGetFlags(
  out: OutputBuffer,
  command: MetaGetCommand,
  item: ItemView,
  result: MetaGetResult,
): void {
  for (const flag of command.returnFlags) {
    switch (flag) {
      case "s":
        out.text(" s").decimal(item.value.length);
        break;
      case "t":
        out.text(" t");
        if (result.ttl === -1) out.text("-1");
        else out.decimal(result.ttl);
        break;
      case "c":
        out.text(" c").bigDecimal(item.cas);
        break;
      case "f":
        out.text(" f").decimal(item.flags);
        break;
      case "l":
        out.text(" l").decimal(result.idleSeconds);
        break;
      case "h":
        out.text(result.fetchedBefore ? " h1" : " h0");
        break;
      case "O":
        out.byte(0x20).text(command.opaque);
        break;
      case "k":
        writeKey(out, command.key, item.keyBinary);
        break;
    }
  }
}

function metaSet(context: ExecutionContext, command: MetaSetCommand, out: OutputBuffer): Outcome {
  const { store, counters } = context;
  if (command.tooLarge) {
    counters.storeTooLarge++;
    // memcached unlinks the old item whatever the mode.
    return whenReady(store.delete({ key: command.key }), () => out.line(replies.tooLarge));
  }
  counters.cmdSet++;
  return whenReady(store.store(command), (result) => {
    countStore(counters, command.mode, result);
    if (result.status === "no_memory") {
      out.line(storeReplies.no_memory);
      return;
    }
    if (result.status === "stored" && command.quiet) return;
    out.text(metaStoreCodes[result.status]);
    for (const flag of command.returnFlags) {
      if (flag === "O") out.byte(0x20).text(command.opaque);
      else if (flag === "k") writeKey(out, command.key, command.keyBinary);
      else if (flag === "c") out.text(" c").bigDecimal(result.cas);
    }
    out.crlf();
  });
}

const metaStoreCodes = {
  stored: "HD",
  not_stored: "NS",
  exists: "EX",
  not_found: "NF",
  no_memory: "",
} as const;

function metaDelete(
  context: ExecutionContext,
  command: MetaDeleteCommand,
  out: OutputBuffer,
): Outcome {
  const { store, counters } = context;
  return whenReady(store.delete(command), (status) => {
    if (status === "deleted") {
      if (!command.invalidate) counters.deleteHits++;
      if (command.quiet) return;
      out.text("HD");
    } else {
      counters.deleteMisses++;
      out.text(status === "exists" ? "EX" : "NF");
    }
    writeOpaqueAndKey(out, command.returnFlags, command, command.keyBinary);
    out.crlf();
  });
}

function metaArithmetic(
  context: ExecutionContext,
  command: MetaArithmeticCommand,
  out: OutputBuffer,
): Outcome {
  const { store, counters } = context;
  return whenReady(store.arithmetic(command), (result) => {
    countArithmetic(counters, command.incr, result);
    if (writeArithmeticFailure(out, result.status)) return;
    if (result.status !== "ok") {
      out.text(result.status === "exists" ? "EX" : "NF");
      writeOpaqueAndKey(out, command.returnFlags, command, command.keyBinary);
      out.crlf();
      return;
    }
    // memcached lets q hide the reply of an update, not of a vivifying create.
    if (command.quiet && !result.created) return;
    const digits = result.value.toString();
    if (command.returnValue) out.text("VA ").decimal(digits.length);
    else out.text("HD");
    for (const flag of command.returnFlags) {
      if (flag === "c") out.text(" c").bigDecimal(result.cas);
      else if (flag === "t") {
        out.text(" t");
        if (result.ttl === -1) out.text("-1");
        else out.decimal(result.ttl);
      } else if (flag === "O") out.byte(0x20).text(command.opaque);
      else if (flag === "k") writeKey(out, command.key, command.keyBinary);
    }
    out.crlf();
    if (command.returnValue) out.text(digits).crlf();
  });
}

function metaDebug(
  context: ExecutionContext,
  command: MetaDebugCommand,
  out: OutputBuffer,
): Outcome {
  const { store, counters, clock } = context;
  return whenReady(store.peek(command.key), (item) => {
    counters.cmdMeta++;
    if (item === undefined) {
      out.line("EN");
      return;
    }
    const now = clock.nowSeconds();
    // 1.6.18 prints the time left as a negative number (exp=-21 for 21 s left).
    const exp = item.exptime === 0 ? -1 : now - item.exptime;
    out.text("ME ").text(item.keyBinary ? encodeBase64Key(command.key) : command.key);
    out.text(` exp=${exp} la=${now - item.accessTime} cas=${item.cas}`);
    out.text(` fetch=${item.fetched ? "yes" : "no"} cls=1 size=${item.totalBytes}`).crlf();
  });
}
