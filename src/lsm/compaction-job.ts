// Runs one compaction on the main thread's side: reads input blocks through
// the FileSystem and feeds them to the worker (compaction-merge.ts), writes
// and syncs the output files it returns, syncs the directory, then logs the
// edit (inputs out, outputs in) in the manifest. Inputs are deleted later,
// when no live version holds them (version-set.ts).
//
// A compaction that fails or is aborted leaves its inputs in place and
// removes the outputs it wrote; files it could not remove are unreferenced
// and removed at the next open.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { Logger } from "../util/logger.js";
import type { CompactionPick } from "./compaction-picker.js";
import { CorruptionError } from "./corruption-error.js";
import { type JobExecutor, JobPriority } from "./executor.js";
import { sstName } from "./file-names.js";
import { keyBytes } from "./keys.js";
import { compactionFeedBytes, grandparentOverlapFiles } from "./limits.js";
import type { ResolvedOptions } from "./options.js";
import type { TableCache } from "./table-cache.js";
import { ownedBytes, tableOptionsOf, writeTableFile } from "./table-file.js";
import type { FileMetadata, Version } from "./version.js";
import { emptyEdit, type TableFile } from "./version-edit.js";
import type { VersionSet } from "./version-set.js";
import type {
  CompactionCounters,
  CompactionSetup,
  JobResponse,
  KeyRange,
  RunChunk,
} from "./worker-protocol.js";

export interface CompactionContext {
  readonly fs: FileSystem;
  readonly directory: string;
  readonly options: ResolvedOptions;
  readonly versions: VersionSet;
  readonly tableCache: TableCache;
  readonly executor: JobExecutor;
  readonly logger: Logger;
  /** True once the engine is closing: the compaction gives up at its next step. */
  stopping(): boolean;
  newSession(): number;
}

export interface CompactionOutcome {
  readonly completed: boolean;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly counters: CompactionCounters | undefined;
}

/**
 * Streams one run's data blocks, a chunk at a time, one chunk read ahead so
 * that the worker rarely waits for the disk.
 */
class RunFeeder {
  private fileIndex = 0;
  private blockIndex = 0;
  private ahead: Promise<RunChunk> | undefined;

  constructor(
    private readonly files: readonly FileMetadata[],
    private readonly tableCache: TableCache,
    private readonly logger: Logger,
  ) {}

  /** The next chunk. REQUIRES: the previous one was not the last. */
  next(): Promise<RunChunk> {
    const chunk = this.ahead ?? this.read();
    this.ahead = undefined;
    chunk.then(
      (got) => {
        if (got.last) return;
        const ahead = this.read();
        // Marked handled now: whoever takes it later still sees a failure;
        // if the compaction ends first, the failure is only logged.
        ahead.catch((error: unknown) =>
          this.logger.debug({ err: error }, "compaction read ahead failed"),
        );
        this.ahead = ahead;
      },
      () => {
        // The caller of next() awaits this same chunk and handles its failure.
      },
    );
    return chunk;
  }

  private async read(): Promise<RunChunk> {
    const file = this.files[this.fileIndex]!;
    const first = this.blockIndex;
    const table = await this.tableCache.acquire(file);
    try {
      let end = first;
      let bytes = 0;
      while (
        end < table.blockCount &&
        (end === first || bytes + table.blockSizes[end]! <= compactionFeedBytes)
      ) {
        bytes += table.blockSizes[end]! + 5;
        end++;
      }
      // Claim the range before the read: the next read ahead starts after it.
      const fileDone = end === table.blockCount;
      const last = fileDone && this.fileIndex === this.files.length - 1;
      if (fileDone) {
        this.fileIndex++;
        this.blockIndex = 0;
      } else {
        this.blockIndex = end;
      }
      const raw = await table.readBlocks(first, end);
      return {
        fileNumber: file.number,
        fileOffset: table.blockOffsets[first]!,
        bytes: ownedBytes(raw),
        blockSizes: table.blockSizes.slice(first, end),
        last,
      };
    } finally {
      table.unpin();
    }
  }
}

export async function runCompaction(
  context: CompactionContext,
  pick: CompactionPick,
  version: Version,
): Promise<CompactionOutcome> {
  const inputBytes = [...pick.inputs, ...pick.overlaps].reduce(
    (sum, file) => sum + file.fileBytes,
    0,
  );
  if (pick.trivialMove) {
    const file = pick.inputs[0]!;
    const edit = emptyEdit();
    edit.deletedFiles.push({ level: pick.level, number: file.number });
    edit.addedFiles.push({ level: pick.outputLevel, file });
    if (pick.level > 0) edit.compactPointers.push({ level: pick.level, key: file.largest });
    await context.versions.logAndApply(edit);
    return { completed: true, bytesRead: 0, bytesWritten: 0, counters: undefined };
  }
  const runs: (readonly FileMetadata[])[] =
    pick.level === 0 ? pick.inputs.map((file) => [file]) : [pick.inputs];
  if (pick.overlaps.length > 0) runs.push(pick.overlaps);
  const feeders = runs.map((files) => new RunFeeder(files, context.tableCache, context.logger));
  const session = context.newSession();
  // Output files are written while the merge goes on; each write's outcome is
  // captured at once so that a failure waits, handled, for the end.
  const outputs: Promise<TableFile | Error>[] = [];
  let counters: CompactionCounters | undefined;
  let response: JobResponse = await context.executor.submit(
    {
      type: "compaction-begin",
      session,
      setup: setupFor(context, pick, version, runs.length),
      chunks: await Promise.all(feeders.map((feeder) => feeder.next())),
    },
    JobPriority.compaction,
  );
  try {
    for (;;) {
      const step = checkStep(response, context);
      counters = step.counters;
      for (const table of step.outputs) {
        const number = context.versions.newFileNumber();
        outputs.push(writeTableFile(context.fs, context.directory, number, table).catch(asError));
      }
      if (step.need === -1) break;
      if (context.stopping()) {
        await context.executor.submit(
          { type: "compaction-abort", session },
          JobPriority.compaction,
        );
        await removeOutputs(context, outputs);
        return { completed: false, bytesRead: 0, bytesWritten: 0, counters };
      }
      const chunk = await feeders[step.need]!.next();
      response = await context.executor.submit(
        { type: "compaction-feed", session, run: step.need, chunk },
        JobPriority.compaction,
      );
    }
    const results = await Promise.all(outputs);
    const failed = results.find((result) => result instanceof Error);
    if (failed !== undefined) throw failed;
    const written = results as TableFile[];
    await context.fs.syncDirectory(context.directory);
    const edit = emptyEdit();
    for (const file of pick.inputs)
      edit.deletedFiles.push({ level: pick.level, number: file.number });
    for (const file of pick.overlaps)
      edit.deletedFiles.push({ level: pick.outputLevel, number: file.number });
    for (const file of written) edit.addedFiles.push({ level: pick.outputLevel, file });
    if (pick.level > 0) edit.compactPointers.push({ level: pick.level, key: pick.inputsLargest });
    await context.versions.logAndApply(edit);
    const bytesWritten = written.reduce((sum, file) => sum + file.fileBytes, 0);
    return { completed: true, bytesRead: inputBytes, bytesWritten, counters };
  } catch (error) {
    await abandon(context, session);
    await removeOutputs(context, outputs);
    throw error;
  }
}

/** Frees the worker's session state after a failure on this side (a failed read, write or edit). */
async function abandon(context: CompactionContext, session: number): Promise<void> {
  try {
    await context.executor.submit({ type: "compaction-abort", session }, JobPriority.compaction);
  } catch (error) {
    context.logger.debug({ err: error, session }, "compaction session was already gone");
  }
}

type Step = Extract<JobResponse, { type: "compaction-step" }>;

function checkStep(response: JobResponse, context: CompactionContext): Step {
  switch (response.type) {
    case "compaction-step":
      return response;
    case "corruption":
      throw new CorruptionError(
        joinPath(context.directory, sstName(response.fileNumber)),
        response.offset,
        response.reason,
      );
    case "failure":
      throw new Error(`compaction worker failed: ${response.message}\n${response.stack ?? ""}`);
    default:
      throw new Error(`unexpected compaction worker response ${response.type}`);
  }
}

function setupFor(
  context: CompactionContext,
  pick: CompactionPick,
  version: Version,
  runCount: number,
): CompactionSetup {
  const { options } = context;
  const range = (file: FileMetadata): KeyRange => ({
    smallest: keyBytes(file.smallest),
    largest: keyBytes(file.largest),
    fileBytes: file.fileBytes,
  });
  const deeperLevels: KeyRange[][] = [];
  for (let level = pick.outputLevel + 1; level < options.levelCount; level++) {
    deeperLevels.push(version.overlapping(level, pick.smallest, pick.largest).map(range));
  }
  const filter = options.compactionFilter;
  return {
    runCount,
    table: tableOptionsOf(options),
    tableFileBytes: options.tableFileBytes,
    deeperLevels,
    grandparents: deeperLevels[0] ?? [],
    grandparentOverlapBytesMax: grandparentOverlapFiles * options.tableFileBytes,
    filter:
      filter === undefined
        ? undefined
        : { moduleUrl: filter.moduleUrl, exportName: filter.exportName, params: filter.params() },
  };
}

async function removeOutputs(
  context: CompactionContext,
  outputs: readonly Promise<TableFile | Error>[],
): Promise<void> {
  for (const result of await Promise.all(outputs)) {
    if (result instanceof Error) continue;
    const path = joinPath(context.directory, sstName(result.number));
    try {
      await context.fs.remove(path);
    } catch (error) {
      context.logger.warn(
        { err: error, file: path },
        "could not remove an abandoned compaction output",
      );
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
