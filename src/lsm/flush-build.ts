// Turns a frozen memtable's arena into one SST: parses the records in write
// order, keeps the last record per key, sorts, builds. Pure CPU work; runs in
// the worker (job-handler.ts). Deletions are kept: older versions may sit in
// files below.

import { assert } from "../util/assert.js";
import { EntryKind } from "./entry-kind.js";
import { keyString } from "./keys.js";
import type { ArenaSnapshot } from "./memtable.js";
import { type BuiltTable, SstBuilder, type TableOptions } from "./sst-builder.js";
import { decoded, readVarint } from "./varint.js";

export function buildFlushTable(arena: ArenaSnapshot, options: TableOptions): BuiltTable {
  const views = arena.chunks.map((chunk) => new Uint8Array(chunk));
  const latest = new Map<string, number>();
  const chunkOf: number[] = [];
  const keyStarts: number[] = [];
  const keyEnds: number[] = [];
  let totalBytes = 0;
  for (let c = 0; c < views.length; c++) {
    const view = views[c]!;
    const end = arena.chunkBytes[c]!;
    totalBytes += end;
    let at = 0;
    while (at < end) {
      const kind = view[at]!;
      assert(kind === EntryKind.value || kind === EntryKind.deletion, "arena record kind");
      const keyStart = readVarint(view, at + 1, end);
      assert(keyStart > 0, "arena key length");
      const keyEnd = keyStart + decoded.value;
      let next = keyEnd;
      if (kind === EntryKind.value) {
        const valueStart = readVarint(view, keyEnd, end);
        assert(valueStart > 0, "arena value length");
        next = valueStart + decoded.value;
      }
      assert(next <= end, "arena record past its chunk");
      latest.set(keyString(view, keyStart, keyEnd), chunkOf.length);
      chunkOf.push(c);
      keyStarts.push(at);
      keyEnds.push(keyEnd);
      at = next;
    }
  }
  const keys = [...latest.keys()].sort();
  const builder = new SstBuilder(options, totalBytes + (totalBytes >>> 3) + 4096);
  for (const key of keys) {
    const record = latest.get(key)!;
    const view = views[chunkOf[record]!]!;
    const recordStart = keyStarts[record]!;
    const keyEnd = keyEnds[record]!;
    const keyStart = keyEnd - key.length;
    if (view[recordStart] === EntryKind.deletion) {
      builder.add(view, keyStart, keyEnd, EntryKind.deletion, view, 0, 0);
    } else {
      const valueStart = readVarint(view, keyEnd, view.length);
      builder.add(
        view,
        keyStart,
        keyEnd,
        EntryKind.value,
        view,
        valueStart,
        valueStart + decoded.value,
      );
    }
  }
  return builder.finish();
}
