// Chooses the next compaction (leveled, as LevelDB's VersionSet::PickCompaction).
// Pure: reads a version and the settings.
//
// Scores: level 0 = files / level0CompactionFiles; level n >= 1 = bytes /
// (level1Bytes * multiplier^(n-1)). The highest score >= 1 wins. Level 0
// compacts all its files at once (its files overlap; taking them all keeps
// "newer level above" true without LevelDB's range expansion). A level n >= 1
// compacts one file, chosen round-robin after the level's compaction pointer,
// with the files of level n+1 it overlaps. The last level is never an input.
//
// A single input file that overlaps nothing below, and not too much of the
// level after, moves down by a manifest edit alone ("trivial move").

import { grandparentOverlapFiles } from "./limits.js";
import type { ResolvedOptions } from "./options.js";
import type { FileMetadata, Version } from "./version.js";

export interface CompactionPick {
  readonly level: number;
  readonly outputLevel: number;
  /** Files of `level`; for level 0, newest first. */
  readonly inputs: readonly FileMetadata[];
  /** Files of `outputLevel` the inputs overlap, in key order. */
  readonly overlaps: readonly FileMetadata[];
  readonly trivialMove: boolean;
  /** Key range of the inputs and overlaps together: what the levels below are checked against. */
  readonly smallest: string;
  readonly largest: string;
  /** Largest key of the inputs alone: the level's next compaction starts after it. */
  readonly inputsLargest: string;
}

type PickerOptions = Pick<
  ResolvedOptions,
  "level0CompactionFiles" | "level1Bytes" | "levelBytesMultiplier" | "levelCount" | "tableFileBytes"
>;

/** Manual compactions take input up to this many target files at a time. */
const manualInputFiles = 25;

export function levelBytesTarget(level: number, options: PickerOptions): number {
  return options.level1Bytes * options.levelBytesMultiplier ** (level - 1);
}

/** Each level's score (the last level scores 0: it is never compacted further). */
export function levelScores(version: Version, options: PickerOptions): number[] {
  return version.levels.map((files, level) => {
    if (level === options.levelCount - 1) return 0;
    if (level === 0) return files.length / options.level0CompactionFiles;
    return version.levelBytes(level) / levelBytesTarget(level, options);
  });
}

export function pickCompaction(
  version: Version,
  options: PickerOptions,
  compactPointers: readonly (string | undefined)[],
): CompactionPick | undefined {
  const scores = levelScores(version, options);
  let level = -1;
  let best = 1;
  scores.forEach((score, i) => {
    if (score >= best) {
      best = score;
      level = i;
    }
  });
  if (level === -1) return undefined;
  if (level === 0) return withOverlaps(version, 0, version.levels[0]!, options, true);
  const files = version.levels[level]!;
  const pointer = compactPointers[level];
  const next = pointer === undefined ? undefined : files.find((file) => file.largest > pointer);
  return withOverlaps(version, level, [next ?? files[0]!], options, true);
}

/** For a full compaction: the next piece of `level` to push into the level below, or undefined when empty. */
export function pickManualCompaction(
  version: Version,
  level: number,
  options: PickerOptions,
): CompactionPick | undefined {
  const files = version.levels[level]!;
  if (files.length === 0) return undefined;
  if (level === 0) return withOverlaps(version, 0, files, options, false);
  const budget = manualInputFiles * options.tableFileBytes;
  const inputs: FileMetadata[] = [];
  let bytes = 0;
  for (const file of files) {
    const overlapBytes = sumBytes(version.overlapping(level + 1, file.smallest, file.largest));
    if (inputs.length > 0 && bytes + file.fileBytes + overlapBytes > budget) break;
    inputs.push(file);
    bytes += file.fileBytes + overlapBytes;
  }
  return withOverlaps(version, level, inputs, options, false);
}

function withOverlaps(
  version: Version,
  level: number,
  inputs: readonly FileMetadata[],
  options: PickerOptions,
  allowTrivialMove: boolean,
): CompactionPick {
  let smallest = inputs[0]!.smallest;
  let largest = inputs[0]!.largest;
  for (const file of inputs) {
    if (file.smallest < smallest) smallest = file.smallest;
    if (file.largest > largest) largest = file.largest;
  }
  const outputLevel = level + 1;
  const overlaps = version.overlapping(outputLevel, smallest, largest);
  const grandparentBytes =
    outputLevel + 1 < options.levelCount
      ? sumBytes(version.overlapping(outputLevel + 1, smallest, largest))
      : 0;
  const trivialMove =
    allowTrivialMove &&
    inputs.length === 1 &&
    overlaps.length === 0 &&
    grandparentBytes <= grandparentOverlapFiles * options.tableFileBytes;
  const inputsLargest = largest;
  // Overlapping files may reach past the inputs' range; a tombstone from them
  // is dropped only if nothing below overlaps it either.
  for (const file of overlaps) {
    if (file.smallest < smallest) smallest = file.smallest;
    if (file.largest > largest) largest = file.largest;
  }
  return { level, outputLevel, inputs, overlaps, trivialMove, smallest, largest, inputsLargest };
}

export function sumBytes(files: readonly FileMetadata[]): number {
  let bytes = 0;
  for (const file of files) bytes += file.fileBytes;
  return bytes;
}
