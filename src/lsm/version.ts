// A version: the set of live table files, per level, at one moment. Versions
// are immutable; an edit yields a new one (apply). Readers, scans and
// compactions hold a reference to the version they started with, so a file
// is deleted only when no live version contains it (VersionSet counts).
//
// Invariants (checked by apply):
// - level 0 is ordered newest first (by file number, which grows with each
//   flush); its files may overlap; a newer file's entries hide older ones;
// - each level >= 1 is ordered by key and its files do not overlap;
// - every version of a key in level n is newer than any in level n + 1.

import { assert } from "../util/assert.js";
import type { TableFile, VersionEdit } from "./version-edit.js";

export class FileMetadata implements TableFile {
  readonly number: number;
  readonly fileBytes: number;
  readonly entryCount: number;
  readonly deletionCount: number;
  readonly smallest: string;
  readonly largest: string;
  /** Live versions containing this file; at 0 the file is obsolete. */
  refs = 0;

  constructor(file: TableFile) {
    this.number = file.number;
    this.fileBytes = file.fileBytes;
    this.entryCount = file.entryCount;
    this.deletionCount = file.deletionCount;
    this.smallest = file.smallest;
    this.largest = file.largest;
  }
}

export class Version {
  /** Holders of this version (the version set while current, reads, scans, compactions). */
  refs = 0;

  constructor(readonly levels: readonly (readonly FileMetadata[])[]) {}

  static empty(levelCount: number): Version {
    return new Version(Array.from({ length: levelCount }, () => []));
  }

  levelBytes(level: number): number {
    let bytes = 0;
    for (const file of this.levels[level]!) bytes += file.fileBytes;
    return bytes;
  }

  /** In a level >= 1: the index of the first file whose largest key is >= key. */
  findFile(level: number, key: string): number {
    const files = this.levels[level]!;
    let low = 0;
    let high = files.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (files[middle]!.largest < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Files of `level` whose range meets [smallest, largest]. */
  overlapping(level: number, smallest: string, largest: string): FileMetadata[] {
    const files = this.levels[level]!;
    if (level === 0)
      return files.filter((file) => file.largest >= smallest && file.smallest <= largest);
    const result: FileMetadata[] = [];
    for (let i = this.findFile(level, smallest); i < files.length; i++) {
      const file = files[i]!;
      if (file.smallest > largest) break;
      result.push(file);
    }
    return result;
  }

  *files(): Generator<FileMetadata> {
    for (const level of this.levels) yield* level;
  }

  /**
   * The version after `edit`. Files added are wrapped once: the same
   * FileMetadata object is shared by every version that contains it.
   */
  apply(edit: VersionEdit): Version {
    const levels = this.levels.map((files) => files.slice());
    for (const deleted of edit.deletedFiles) {
      const files = levels[deleted.level];
      assert(files !== undefined, () => `edit deletes from level ${deleted.level}`);
      const at = files.findIndex((file) => file.number === deleted.number);
      assert(at !== -1, () => `edit deletes file ${deleted.number}, not in level ${deleted.level}`);
      files.splice(at, 1);
    }
    for (const added of edit.addedFiles) {
      const files = levels[added.level];
      assert(files !== undefined, () => `edit adds to level ${added.level}`);
      files.push(added.file instanceof FileMetadata ? added.file : new FileMetadata(added.file));
    }
    levels[0]!.sort((a, b) => b.number - a.number);
    for (let level = 1; level < levels.length; level++) {
      const files = levels[level]!;
      files.sort((a, b) => (a.smallest < b.smallest ? -1 : a.smallest > b.smallest ? 1 : 0));
      for (let i = 1; i < files.length; i++) {
        assert(
          files[i - 1]!.largest < files[i]!.smallest,
          () => `level ${level} files ${files[i - 1]!.number} and ${files[i]!.number} overlap`,
        );
      }
    }
    return new Version(levels);
  }
}
