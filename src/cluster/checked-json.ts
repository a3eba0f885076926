// Small records memraft keeps as JSON (the node's own state file, the
// metadata group's values), framed so that a wrong file, a newer format or
// damaged bytes are told apart and named rather than misread:
//
//   u32 magic, u16 version, u32 JSON byte length, JSON (utf8), u32 masked crc32c of all before

import { crc32c, maskCrc, unmaskCrc } from "../util/crc32c.js";
import { MemraftError } from "../util/errors.js";

const headerBytes = 10;
const crcBytes = 4;

export interface RecordKind {
  readonly magic: number;
  readonly version: number;
  /** What the record is, for error messages. */
  readonly name: string;
}

export function encodeCheckedJson(kind: RecordKind, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), "utf8");
  const bytes = Buffer.allocUnsafe(headerBytes + json.length + crcBytes);
  bytes.writeUInt32LE(kind.magic, 0);
  bytes.writeUInt16LE(kind.version, 4);
  bytes.writeUInt32LE(json.length, 6);
  json.copy(bytes, headerBytes);
  bytes.writeUInt32LE(
    maskCrc(crc32c(bytes.subarray(0, headerBytes + json.length))),
    headerBytes + json.length,
  );
  return bytes;
}

/** The JSON value of a record of `kind`; ERR_CORRUPTION naming `source` and the offset otherwise. */
export function decodeCheckedJson(kind: RecordKind, bytes: Buffer, source: string): unknown {
  const corrupt = (offset: number, why: string) =>
    new MemraftError("ERR_CORRUPTION", `${source}: ${kind.name} at offset ${offset}: ${why}`, {
      file: source,
      offset,
    });
  if (bytes.length < headerBytes + crcBytes) throw corrupt(0, `only ${bytes.length} bytes`);
  if (bytes.readUInt32LE(0) !== kind.magic) throw corrupt(0, "wrong magic number");
  const version = bytes.readUInt16LE(4);
  if (version !== kind.version)
    throw corrupt(4, `format version ${version}, this build reads ${kind.version}`);
  const length = bytes.readUInt32LE(6);
  if (headerBytes + length + crcBytes !== bytes.length)
    throw corrupt(6, `length ${length} does not match the record's ${bytes.length} bytes`);
  const stored = unmaskCrc(bytes.readUInt32LE(headerBytes + length));
  if (stored !== crc32c(bytes.subarray(0, headerBytes + length)))
    throw corrupt(headerBytes + length, "checksum mismatch");
  try {
    return JSON.parse(bytes.toString("utf8", headerBytes, headerBytes + length));
  } catch (error) {
    throw corrupt(headerBytes, `not JSON: ${(error as Error).message}`);
  }
}
