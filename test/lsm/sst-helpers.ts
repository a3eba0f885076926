// Shared by the SST-level tests: puts finished table bytes in a file of the
// fault file system and opens it, pinned, with a cache of its own.

import { BlockCache } from "../../src/lsm/block-cache.js";
import { SstReader } from "../../src/lsm/sst-reader.js";
import type { FaultFileSystem } from "../helpers/fault-fs.js";

export async function openTableBytes(
  fs: FaultFileSystem,
  number: number,
  bytes: Uint8Array,
): Promise<SstReader> {
  const path = `${String(number).padStart(6, "0")}.sst`;
  const file = await fs.create(path);
  await file.append(Buffer.from(bytes));
  const reader = await SstReader.open(
    fs,
    path,
    number,
    bytes.length,
    new BlockCache(1 << 22),
    (error) => {
      throw error;
    },
  );
  reader.pin();
  return reader;
}
