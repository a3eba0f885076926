// The manifest: a log (log-format.ts, kind manifest) of version edits
// (version-edit.ts). Its first edit is a snapshot of the whole state; each
// later one is appended and fsynced before the engine acts on it (deletes a
// file, truncates a log): an edit that is not durable never had effects.
//
// Switching to a new manifest (at open, or when this one grows past
// limits.manifestBytesMax) is crash-safe: write the snapshot, fsync the file,
// fsync the directory, and only then point CURRENT at it (current-file.ts);
// the old manifest is removed after that.

import { writeFileDurably } from "../fs/durable-file.js";
import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { Logger } from "../util/logger.js";
import { CorruptionError, FormatDefect } from "./corruption-error.js";
import { encodeCurrent } from "./current-file.js";
import { currentFileName, manifestName } from "./file-names.js";
import { LogKind } from "./log-format.js";
import { readLog } from "./log-reader.js";
import { LogWriter } from "./log-writer.js";
import { decodeEdit, encodeEdit, type VersionEdit } from "./version-edit.js";

export class ManifestWriter {
  private constructor(
    private readonly log: LogWriter,
    readonly number: number,
  ) {}

  /**
   * Creates manifest `number` holding `snapshot`, makes it durable, and
   * points CURRENT at it.
   */
  static async create(
    fs: FileSystem,
    directory: string,
    number: number,
    snapshot: VersionEdit,
  ): Promise<ManifestWriter> {
    const log = await LogWriter.create(
      fs,
      joinPath(directory, manifestName(number)),
      LogKind.manifest,
      number,
    );
    try {
      await log.append([encodeEdit(snapshot)]);
      await log.sync();
      await log.appendMarker();
      await fs.syncDirectory(directory);
      await writeFileDurably(
        fs,
        joinPath(directory, currentFileName),
        encodeCurrent(manifestName(number)),
      );
    } catch (error) {
      await log.close();
      throw error;
    }
    return new ManifestWriter(log, number);
  }

  get bytes(): number {
    return this.log.size;
  }

  /**
   * Appends an edit and makes it durable, then appends a marker promising it
   * (log-format.ts): a later bit flip in the last edit is then corruption,
   * not a torn tail.
   */
  async append(edit: VersionEdit): Promise<void> {
    await this.log.append([encodeEdit(edit)]);
    await this.log.sync();
    await this.log.appendMarker();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

/** Reads every edit of a manifest; CorruptionError unless it is whole (a torn last edit is dropped). */
export async function readManifest(
  fs: FileSystem,
  directory: string,
  number: number,
  logger: Logger,
): Promise<VersionEdit[]> {
  const path = joinPath(directory, manifestName(number));
  const bytes = await fs.readFile(path);
  const contents = readLog(bytes, path, { kind: LogKind.manifest, fileNumber: number });
  if (contents.tornTail !== undefined) {
    // An edit that was never synced had no effects: the engine acts only on durable edits.
    logger.warn({ file: path, ...contents.tornTail }, "manifest ends in a torn edit; dropped");
  }
  if (contents.records.length === 0)
    throw new CorruptionError(path, 0, "manifest holds no snapshot");
  return contents.records.map((record, i) => {
    try {
      return decodeEdit(record);
    } catch (error) {
      if (error instanceof FormatDefect) {
        throw new CorruptionError(
          path,
          contents.recordOffsets[i]!,
          `edit ${i}: ${error.reason} at byte ${error.offset} of the edit`,
        );
      }
      throw error;
    }
  });
}
