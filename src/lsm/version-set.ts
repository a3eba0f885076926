// The version set: the current version, the counters that go with it (next
// file number, live WAL number, flushed applied index, compaction pointers),
// and the manifest that makes each change durable before it takes effect.
//
// logAndApply runs edits one at a time: append + fsync the edit, then install
// the new version. A file leaves the directory only when no live version
// holds it (ref/unref), so reads and scans in progress never lose a file.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import { assert } from "../util/assert.js";
import type { Logger } from "../util/logger.js";
import { CorruptionError } from "./corruption-error.js";
import { decodeCurrent } from "./current-file.js";
import { currentFileName, manifestName, parseFileName, sstName } from "./file-names.js";
import { manifestBytesMax } from "./limits.js";
import { LogKind } from "./log-format.js";
import { readLog } from "./log-reader.js";
import { ManifestWriter, readManifest } from "./manifest.js";
import { type FileMetadata, Version } from "./version.js";
import { emptyEdit, type VersionEdit } from "./version-edit.js";

export interface VersionSetOptions {
  readonly levelCount: number;
  readonly createIfMissing: boolean;
  readonly logger: Logger;
  /** Called when a file is in no live version any more (delete it). */
  readonly onObsolete: (file: FileMetadata) => void;
}

export class VersionSet {
  current: Version;
  nextFileNumber: number;
  /** WAL files numbered below this are obsolete. */
  logNumber: number;
  /** Highest applied index covered by the table files; -1 when none was recorded. */
  appliedIndex: number;
  readonly compactPointers: (string | undefined)[];
  private manifest: ManifestWriter;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    private readonly options: VersionSetOptions,
    state: RecoveredState,
    manifest: ManifestWriter,
  ) {
    this.current = state.version;
    this.nextFileNumber = state.nextFileNumber;
    this.logNumber = state.logNumber;
    this.appliedIndex = state.appliedIndex;
    this.compactPointers = state.compactPointers;
    this.manifest = manifest;
    this.ref(this.current);
  }

  /**
   * Recovers the state named by CURRENT (or creates an empty one) and
   * switches to a fresh manifest holding it. `names` is the directory
   * listing. `prepare` runs between the two: it may take file numbers from
   * the state (a new WAL) and returns the log number the new manifest
   * records, or undefined to keep the recovered one (the engine's WAL
   * recovery decides which logs stay live).
   */
  static async open(
    fs: FileSystem,
    directory: string,
    names: readonly string[],
    options: VersionSetOptions,
    prepare: (state: RecoveredState) => Promise<number | undefined>,
  ): Promise<VersionSet> {
    const state = await recover(fs, directory, names, options);
    let highest = 0;
    for (const name of names) highest = Math.max(highest, parseFileName(name)?.number ?? 0);
    state.nextFileNumber = Math.max(state.nextFileNumber, highest + 1);
    const logNumber = await prepare(state);
    if (logNumber !== undefined) state.logNumber = logNumber;
    const number = state.nextFileNumber++;
    const manifest = await ManifestWriter.create(fs, directory, number, snapshotOf(state));
    const set = new VersionSet(fs, directory, options, state, manifest);
    if (state.manifestNumber !== undefined) {
      await set.removeQuietly(manifestName(state.manifestNumber));
    }
    return set;
  }

  /** The number of the live manifest. */
  get manifestNumber(): number {
    return this.manifest.number;
  }

  newFileNumber(): number {
    return this.nextFileNumber++;
  }

  /** Makes `edit` durable in the manifest, then installs the version it yields. */
  logAndApply(edit: VersionEdit): Promise<void> {
    const run = this.queue.then(() => this.logAndApplyNow(edit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  ref(version: Version): void {
    if (version.refs++ === 0) for (const file of version.files()) file.refs++;
  }

  unref(version: Version): void {
    assert(version.refs > 0, "version unreferenced too often");
    if (--version.refs > 0) return;
    for (const file of version.files()) {
      if (--file.refs === 0) this.options.onObsolete(file);
    }
  }

  /** An edit that rebuilds the whole current state (a new manifest's first record). */
  snapshot(): VersionEdit {
    return snapshotOf({
      version: this.current,
      nextFileNumber: this.nextFileNumber,
      logNumber: this.logNumber,
      appliedIndex: this.appliedIndex,
      compactPointers: this.compactPointers,
      manifestNumber: undefined,
    });
  }

  async close(): Promise<void> {
    await this.queue;
    await this.manifest.close();
  }

  private async logAndApplyNow(edit: VersionEdit): Promise<void> {
    if (edit.logNumber !== undefined)
      assert(edit.logNumber >= this.logNumber, "log number goes back");
    const version = this.current.apply(edit);
    edit.nextFileNumber = this.nextFileNumber;
    if (this.manifest.bytes < manifestBytesMax) {
      await this.manifest.append(edit);
      this.install(edit, version);
      return;
    }
    // The manifest is long: start a new one whose snapshot already holds the edit.
    const old = this.manifest;
    const number = this.newFileNumber();
    const compactPointers = this.compactPointers.slice();
    for (const pointer of edit.compactPointers) compactPointers[pointer.level] = pointer.key;
    this.manifest = await ManifestWriter.create(
      this.fs,
      this.directory,
      number,
      snapshotOf({
        version,
        nextFileNumber: this.nextFileNumber,
        logNumber: edit.logNumber ?? this.logNumber,
        appliedIndex: Math.max(this.appliedIndex, edit.appliedIndex ?? -1),
        compactPointers,
        manifestNumber: undefined,
      }),
    );
    this.install(edit, version);
    await old.close();
    await this.removeQuietly(manifestName(old.number));
  }

  private install(edit: VersionEdit, version: Version): void {
    if (edit.logNumber !== undefined) this.logNumber = edit.logNumber;
    if (edit.appliedIndex !== undefined)
      this.appliedIndex = Math.max(this.appliedIndex, edit.appliedIndex);
    for (const pointer of edit.compactPointers) this.compactPointers[pointer.level] = pointer.key;
    const old = this.current;
    this.current = version;
    this.ref(version);
    this.unref(old);
  }

  private async removeQuietly(name: string): Promise<void> {
    try {
      await this.fs.remove(joinPath(this.directory, name));
    } catch (error) {
      this.options.logger.warn({ err: error, file: name }, "could not remove an obsolete file");
    }
  }
}

/** The state a manifest describes. */
export interface RecoveredState {
  version: Version;
  nextFileNumber: number;
  logNumber: number;
  appliedIndex: number;
  compactPointers: (string | undefined)[];
  /** The manifest it came from; undefined for a new engine. */
  manifestNumber: number | undefined;
}

async function recover(
  fs: FileSystem,
  directory: string,
  names: readonly string[],
  options: VersionSetOptions,
): Promise<RecoveredState> {
  const state: RecoveredState = {
    version: Version.empty(options.levelCount),
    nextFileNumber: 1,
    logNumber: 0,
    appliedIndex: -1,
    compactPointers: [],
    manifestNumber: undefined,
  };
  if (!names.includes(currentFileName)) {
    // A crash while an engine is created leaves a manifest and an empty WAL
    // but no CURRENT; no write was acknowledged then. Table files, or a WAL
    // holding records, mean CURRENT was lost from a live engine.
    const data: string[] = [];
    for (const name of names) {
      const parsed = parseFileName(name);
      if (parsed?.kind === "sst") data.push(name);
      if (
        parsed?.kind === "wal" &&
        (await walHoldsRecords(fs, joinPath(directory, name), parsed.number))
      ) {
        data.push(name);
      }
    }
    if (data.length > 0) {
      throw new CorruptionError(
        joinPath(directory, currentFileName),
        0,
        `missing, but the directory holds ${data.join(", ")}`,
      );
    }
    if (!options.createIfMissing) {
      throw new CorruptionError(
        joinPath(directory, currentFileName),
        0,
        "missing (no engine here)",
      );
    }
    return state;
  }
  const currentPath = joinPath(directory, currentFileName);
  const manifest = decodeCurrent(await fs.readFile(currentPath), currentPath);
  const number = parseFileName(manifest)!.number;
  state.manifestNumber = number;
  if (!names.includes(manifest))
    throw new CorruptionError(currentPath, 0, `names ${manifest}, which is missing`);
  const path = joinPath(directory, manifest);
  const edits = await readManifest(fs, directory, number, options.logger);
  edits.forEach((edit, i) => {
    for (const added of edit.addedFiles) {
      if (added.level >= options.levelCount) {
        throw new CorruptionError(
          path,
          0,
          `edit ${i} adds file ${added.file.number} to level ${added.level}; the engine has ${options.levelCount} levels`,
        );
      }
    }
    try {
      state.version = state.version.apply(edit);
    } catch (error) {
      throw new CorruptionError(path, 0, `edit ${i} does not apply: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (edit.logNumber !== undefined) state.logNumber = edit.logNumber;
    if (edit.nextFileNumber !== undefined)
      state.nextFileNumber = Math.max(state.nextFileNumber, edit.nextFileNumber);
    if (edit.appliedIndex !== undefined)
      state.appliedIndex = Math.max(state.appliedIndex, edit.appliedIndex);
    for (const pointer of edit.compactPointers) state.compactPointers[pointer.level] = pointer.key;
  });
  const present = new Set(names);
  for (const file of state.version.files()) {
    const name = sstName(file.number);
    if (!present.has(name)) {
      throw new CorruptionError(joinPath(directory, name), 0, `missing, but ${manifest} lists it`);
    }
  }
  return state;
}

function snapshotOf(state: RecoveredState): VersionEdit {
  const edit = emptyEdit();
  edit.logNumber = state.logNumber;
  edit.nextFileNumber = state.nextFileNumber;
  if (state.appliedIndex >= 0) edit.appliedIndex = state.appliedIndex;
  state.compactPointers.forEach((key, level) => {
    if (key !== undefined) edit.compactPointers.push({ level, key });
  });
  state.version.levels.forEach((files, level) => {
    for (const file of files) edit.addedFiles.push({ level, file });
  });
  return edit;
}

async function walHoldsRecords(fs: FileSystem, path: string, number: number): Promise<boolean> {
  return (
    readLog(await fs.readFile(path), path, { kind: LogKind.wal, fileNumber: number }).records
      .length > 0
  );
}
