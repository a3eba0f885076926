// Replacing a small file so that a crash leaves either the old or the new
// contents, never a mix: write a temporary file, sync it, rename it over
// the target, sync the directory (LevelDB's SetCurrentFile does the same).

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
