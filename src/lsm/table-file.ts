// Writes a finished SST (bytes from the worker) to its file and makes the
// bytes durable. The directory entry is made durable by the caller, once for
// all the files of a flush or compaction, before the manifest edit that
// names them.

import { type FileSystem, joinPath } from "../fs/file-system.js";
import { sstName } from "./file-names.js";
import { keyString } from "./keys.js";
import type { TableOptions } from "./sst-builder.js";
import type { TableFile } from "./version-edit.js";
import type { TableMessage } from "./worker-protocol.js";

export async function writeTableFile(
  fs: FileSystem,
  directory: string,
  number: number,
  table: TableMessage,
): Promise<TableFile> {
  const file = await fs.create(joinPath(directory, sstName(number)));
  try {
    await file.append(Buffer.from(table.bytes.buffer, table.bytes.byteOffset, table.bytes.length));
    await file.sync();
  } finally {
    await file.close();
  }
  return {
    number,
    fileBytes: table.bytes.length,
    entryCount: table.entryCount,
    deletionCount: table.deletionCount,
    smallest: keyString(table.smallest),
    largest: keyString(table.largest),
  };
}

/** `bytes` as a view that owns its whole ArrayBuffer, copying only when it does not (transfer-safe). */
export function ownedBytes(bytes: Uint8Array): Uint8Array {
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.buffer.byteLength === bytes.length;
  return whole ? bytes : new Uint8Array(bytes);
}

/** The table settings alone: a plain object the worker can receive. */
export function tableOptionsOf(options: TableOptions): TableOptions {
  return {
    blockBytes: options.blockBytes,
    blockRestartInterval: options.blockRestartInterval,
    bloomBitsPerKey: options.bloomBitsPerKey,
  };
}
