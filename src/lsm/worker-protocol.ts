// Messages between the engine (main thread) and the CPU worker
// (job-worker.ts). The worker only computes: it never opens a file. The main
// thread reads input bytes through the FileSystem and sends them, the worker
// returns finished SST bytes, and the main thread writes them. So every byte
// of I/O goes through the FileSystem interface (testable with the fault
// file system) and the event loop never sorts, merges or checksums blocks.
//
// Buffers cross by transfer (ArrayBuffers that the sender owns whole) or by
// sharing (the memtable arena's SharedArrayBuffers); nothing is copied.
//
// A compaction is a session that streams: "begin" brings the first chunk of
// every input run; the worker merges until some run has no buffered block
// left, then answers with the output files finished so far and the run it
// needs next; "feed" brings that run's next chunk. Between two steps the
// executor may run other jobs (a flush waits at most one step).

import type { ArenaSnapshot } from "./memtable.js";
import type { TableOptions } from "./sst-builder.js";

/** Consecutive data blocks of one input file. */
export interface RunChunk {
  readonly fileNumber: number;
  /** File offset of bytes[0]. */
  readonly fileOffset: number;
  /** Blocks with their trailers, back to back. Owned whole: transferable. */
  readonly bytes: Uint8Array;
  /** Contents size of each block (the trailer follows each). */
  readonly blockSizes: Uint32Array;
  /** No chunk follows in this run. */
  readonly last: boolean;
}

/** Key range of a file, for the deeper-level and grandparent checks. */
export interface KeyRange {
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  readonly fileBytes: number;
}

/** Names a module the worker imports to build a compaction filter. */
export interface CompactionFilterSpec {
  /** A file: URL of an ES module. */
  readonly moduleUrl: string;
  /** Its export: a function (params) => (key, value) => boolean, true keeping the entry. */
  readonly exportName: string;
  /** Structured-cloneable; computed on the main thread when the compaction starts. */
  readonly params: unknown;
}

export interface CompactionSetup {
  readonly runCount: number;
  readonly table: TableOptions;
  /** An output file is cut once it reaches this size. */
  readonly tableFileBytes: number;
  /** Files of the levels below the output level that overlap the inputs, per level, in key order. */
  readonly deeperLevels: readonly (readonly KeyRange[])[];
  /** Files of the level below the output level, in key order (LevelDB's grandparents). */
  readonly grandparents: readonly KeyRange[];
  readonly grandparentOverlapBytesMax: number;
  readonly filter: CompactionFilterSpec | undefined;
}

export type JobRequest =
  | {
      readonly type: "flush";
      readonly arena: ArenaSnapshot;
      readonly table: TableOptions;
    }
  | {
      readonly type: "compaction-begin";
      readonly session: number;
      readonly setup: CompactionSetup;
      readonly chunks: readonly RunChunk[];
    }
  | {
      readonly type: "compaction-feed";
      readonly session: number;
      readonly run: number;
      readonly chunk: RunChunk;
    }
  | { readonly type: "compaction-abort"; readonly session: number };

export interface TableMessage {
  readonly bytes: Uint8Array;
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  readonly entryCount: number;
  readonly deletionCount: number;
}

export interface CompactionCounters {
  readonly entriesRead: number;
  readonly entriesWritten: number;
  readonly overwrittenDropped: number;
  readonly deletionsDropped: number;
  readonly filterDropped: number;
  readonly filterTombstoned: number;
}

export type JobResponse =
  | { readonly type: "flushed"; readonly table: TableMessage }
  | {
      readonly type: "compaction-step";
      readonly outputs: readonly TableMessage[];
      /** The run to feed next, or -1: the session is done. */
      readonly need: number;
      readonly counters: CompactionCounters;
    }
  | { readonly type: "aborted" }
  | {
      readonly type: "corruption";
      readonly fileNumber: number;
      readonly offset: number;
      readonly reason: string;
    }
  | { readonly type: "failure"; readonly message: string; readonly stack: string | undefined };

/** The ArrayBuffers a message may transfer. */
export function transferablesOf(message: JobRequest | JobResponse): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  const take = (bytes: Uint8Array): void => {
    if (!(bytes.buffer instanceof ArrayBuffer)) return;
    buffers.push(bytes.buffer);
  };
  switch (message.type) {
    case "compaction-begin":
      for (const chunk of message.chunks) take(chunk.bytes);
      break;
    case "compaction-feed":
      take(message.chunk.bytes);
      break;
    case "flushed":
      take(message.table.bytes);
      break;
    case "compaction-step":
      for (const output of message.outputs) take(output.bytes);
      break;
    default:
      break;
  }
  return buffers;
}
