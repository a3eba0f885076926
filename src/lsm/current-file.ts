// CURRENT names the live manifest. It is replaced atomically (temporary file,
// fsync, rename, directory fsync: fs/durable-file.ts), so after a crash it
// names either the old or the new manifest. One line:
//
//   memraft-lsm <format version> <manifest name> <masked CRC32C of the name, 8 hex digits>\n

import { crc32c, maskCrc } from "../util/crc32c.js";
import { CorruptionError } from "./corruption-error.js";
import { parseFileName } from "./file-names.js";

const prefix = "memraft-lsm";
const currentFormatVersion = 1;

function checksum(name: string): string {
  return maskCrc(crc32c(Buffer.from(name, "latin1")))
    .toString(16)
    .padStart(8, "0");
}

export function encodeCurrent(manifestName: string): Buffer {
  return Buffer.from(
    `${prefix} ${currentFormatVersion} ${manifestName} ${checksum(manifestName)}\n`,
    "latin1",
  );
}

/** The manifest name CURRENT holds; CorruptionError when it is malformed. */
export function decodeCurrent(bytes: Buffer, path: string): string {
  const text = bytes.toString("latin1");
  const fields = text.endsWith("\n") ? text.slice(0, -1).split(" ") : [];
  if (fields.length !== 4 || fields[0] !== prefix) {
    throw new CorruptionError(path, 0, `not a CURRENT file: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const [, version, name, stored] = fields as [string, string, string, string];
  if (version !== String(currentFormatVersion)) {
    throw new CorruptionError(path, prefix.length + 1, `unknown CURRENT format version ${version}`);
  }
  const nameAt = prefix.length + version.length + 2;
  if (checksum(name) !== stored) {
    throw new CorruptionError(
      path,
      nameAt,
      `checksum mismatch for ${JSON.stringify(name)}: stored ${stored}`,
    );
  }
  if (parseFileName(name)?.kind !== "manifest") {
    throw new CorruptionError(path, nameAt, `${JSON.stringify(name)} is not a manifest name`);
  }
  return name;
}
