// Replays the live write-ahead logs (numbers >= the manifest's log number)
// into memtables, one per log, oldest first. A torn tail (bytes never
// promised durable) ends a log: it is reported, cut off, and the log is
// synced, so that what recovery hands to readers is durable (the bytes it
// read may have come from a page cache that a power loss would still empty).
// Corruption of synced bytes, or a record that does not decode, is a
// CorruptionError.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { Logger } from "../util/logger.js";
import { CorruptionError, FormatDefect } from "./corruption-error.js";
import { parseFileName, walName } from "./file-names.js";
import { LogKind } from "./log-format.js";
import { readLog } from "./log-reader.js";
import { Memtable } from "./memtable.js";
import { decodeBatch } from "./write-batch.js";

export async function recoverWals(
  fs: FileSystem,
  directory: string,
  names: readonly string[],
  logNumber: number,
  logger: Logger,
): Promise<Memtable[]> {
  const numbers = names
    .map((name) => parseFileName(name))
    .filter((parsed) => parsed?.kind === "wal" && parsed.number >= logNumber)
    .map((parsed) => parsed!.number)
    .sort((a, b) => a - b);
  const memtables: Memtable[] = [];
  for (const number of numbers) {
    const path = joinPath(directory, walName(number));
    const bytes = await fs.readFile(path);
    const contents = readLog(bytes, path, { kind: LogKind.wal, fileNumber: number });
    if (contents.tornTail !== undefined) {
      logger.warn(
        { file: path, ...contents.tornTail },
        "write-ahead log ends in a torn tail; cut off",
      );
      await fs.truncate(path, bytes.length - contents.tornTail.droppedBytes);
    }
    if (contents.records.length > 0 || contents.tornTail !== undefined) await syncFile(fs, path);
    const memtable = new Memtable(number);
    contents.records.forEach((record, i) => {
      let batch: ReturnType<typeof decodeBatch>;
      try {
        batch = decodeBatch(record);
      } catch (error) {
        if (error instanceof FormatDefect) {
          throw new CorruptionError(
            path,
            contents.recordOffsets[i]!,
            `batch: ${error.reason} at byte ${error.offset} of the record`,
          );
        }
        throw error;
      }
      for (let j = 0; j < batch.count; j++) memtable.add(batch.keys[j]!, batch.values[j]);
      if (batch.appliedIndex !== undefined && batch.appliedIndex > memtable.maxAppliedIndex) {
        memtable.maxAppliedIndex = batch.appliedIndex;
      }
    });
    logger.info(
      { file: path, records: contents.records.length, keys: memtable.entryCount },
      "replayed write-ahead log",
    );
    if (!memtable.empty) memtables.push(memtable);
  }
  return memtables;
}

async function syncFile(fs: FileSystem, path: string): Promise<void> {
  const file = await fs.openAppend(path);
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}
