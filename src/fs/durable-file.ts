// Creating files and directories so that a crash keeps them. Replacing a
// small file leaves either the old or the new contents, never a mix: write a
// temporary file, sync it, rename it over the target, sync the directory
// (LevelDB's SetCurrentFile does the same).

import { directoryOf, type FileSystem } from "./file-system.js";

export async function writeFileDurably(fs: FileSystem, path: string, data: Buffer): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await fs.create(temporary);
  try {
    await file.append(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temporary, path);
  await fs.syncDirectory(directoryOf(path));
}

/**
 * Makes `directory` and its missing parents so that they survive a crash:
 * each new directory's entry is synced into its parent (mkdir alone leaves
 * the entry in the page cache).
 */
export async function makeDirectoryDurably(fs: FileSystem, directory: string): Promise<void> {
  const missing: string[] = [];
  for (let path = directory; !(await fs.exists(path)); path = directoryOf(path)) {
    missing.push(path);
    if (directoryOf(path) === path) break;
  }
  if (missing.length === 0) return;
  await fs.mkdir(directory);
  for (const path of missing.reverse()) await fs.syncDirectory(directoryOf(path));
}
