// Raft snapshots of a group are LSM checkpoints: a directory of hard-linked
// table files and a manifest. The Raft message carries only a descriptor
// (group, index); the follower then fetches the files from the node that
// sent it, chunk by chunk, each checked with CRC32C, into a staging
// directory that it syncs before installing it.
//
// Descriptor:   u8 version (1), u32 group id, u64 index
// Manifest:     u32 count, then per file: u16 name length, name, u64 bytes, u32 crc32c of the file
// Chunk request: u32 group, u64 index, u16 name length, name, u64 offset, u32 length

import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { GroupId } from "../raft/types.js";
import { crc32c } from "../util/crc32c.js";
import { MemraftError } from "../util/errors.js";
import type { PeerRpc } from "./peer-rpc.js";

export enum SnapshotMethod {
  Manifest = 3,
  Chunk = 4,
}

const descriptorVersion = 1;
const chunkBytes = 1024 * 1024;
const chunksInFlight = 4;
const requestTimeoutMs = 10_000;

export interface SnapshotDescriptor {
  readonly groupId: GroupId;
  readonly index: number;
}

export function encodeDescriptor(descriptor: SnapshotDescriptor): Uint8Array {
  const bytes = Buffer.alloc(13);
  bytes[0] = descriptorVersion;
  bytes.writeUInt32LE(descriptor.groupId, 1);
  bytes.writeBigUInt64LE(BigInt(descriptor.index), 5);
  return bytes;
}

export function decodeDescriptor(data: Uint8Array): SnapshotDescriptor {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (bytes.length !== 13 || bytes[0] !== descriptorVersion) {
    throw new MemraftError(
      "ERR_CORRUPTION",
      `snapshot descriptor of ${bytes.length} bytes, version ${bytes[0]}`,
    );
  }
  return { groupId: bytes.readUInt32LE(1), index: Number(bytes.readBigUInt64LE(5)) };
}

interface FileEntry {
  readonly name: string;
  readonly bytes: number;
  readonly crc: number;
}

/** Where a node keeps the checkpoints it serves. */
export interface CheckpointSource {
  /** The directory of the group's checkpoint at `index`, if this node still holds it. */
  checkpointDirectory(groupId: GroupId, index: number): string | undefined;
}

function requestedCheckpoint(source: CheckpointSource, groupId: GroupId, index: number): string {
  const directory = source.checkpointDirectory(groupId, index);
  if (directory === undefined) {
    throw new MemraftError(
      "ERR_UNAVAILABLE",
      `snapshot ${index} of group ${groupId} is no longer here`,
      {
        groupId,
        index,
      },
    );
  }
  return directory;
}

/** Serves the two snapshot requests from this node's checkpoints. */
export function serveSnapshots(rpc: PeerRpc, fs: FileSystem, source: CheckpointSource): void {
  rpc.handle(SnapshotMethod.Manifest, async (_from, body) => {
    const groupId = body.readUInt32LE(0);
    const index = Number(body.readBigUInt64LE(4));
    const directory = requestedCheckpoint(source, groupId, index);
    const entries: FileEntry[] = [];
    for (const name of await fs.list(directory)) {
      entries.push({ name, ...(await checksum(fs, joinPath(directory, name))) });
    }
    return encodeManifest(entries);
  });
  rpc.handle(SnapshotMethod.Chunk, async (_from, body) => {
    const groupId = body.readUInt32LE(0);
    const index = Number(body.readBigUInt64LE(4));
    const nameLength = body.readUInt16LE(12);
    const name = body.toString("utf8", 14, 14 + nameLength);
    const offset = Number(body.readBigUInt64LE(14 + nameLength));
    const length = body.readUInt32LE(22 + nameLength);
    if (name.includes("/")) throw new MemraftError("ERR_CONFIG", `bad snapshot file name ${name}`);
    const directory = requestedCheckpoint(source, groupId, index);
    const file = await fs.openRead(joinPath(directory, name));
    try {
      return await file.read(offset, Math.min(length, chunkBytes));
    } finally {
      await file.close();
    }
  });
}

/** Length and CRC32C of a file, read a chunk at a time. */
async function checksum(fs: FileSystem, path: string): Promise<{ bytes: number; crc: number }> {
  const file = await fs.openRead(path);
  try {
    let crc = 0;
    let bytes = 0;
    for (;;) {
      const chunk = await file.read(bytes, chunkBytes);
      if (chunk.length === 0) return { bytes, crc };
      crc = crc32c(chunk, 0, chunk.length, crc);
      bytes += chunk.length;
    }
  } finally {
    await file.close();
  }
}

function encodeManifest(entries: readonly FileEntry[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32LE(entries.length);
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const head = Buffer.alloc(2 + name.length + 12);
    head.writeUInt16LE(name.length, 0);
    name.copy(head, 2);
    head.writeBigUInt64LE(BigInt(entry.bytes), 2 + name.length);
    head.writeUInt32LE(entry.crc, 10 + name.length);
    parts.push(head);
  }
  return Buffer.concat(parts);
}

function decodeManifest(bytes: Buffer): FileEntry[] {
  const entries: FileEntry[] = [];
  const count = bytes.readUInt32LE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const nameLength = bytes.readUInt16LE(at);
    const name = bytes.toString("utf8", at + 2, at + 2 + nameLength);
    const fileBytes = Number(bytes.readBigUInt64LE(at + 2 + nameLength));
    const crc = bytes.readUInt32LE(at + 10 + nameLength);
    entries.push({ name, bytes: fileBytes, crc });
    at += 14 + nameLength;
  }
  return entries;
}

/**
 * Fetches snapshot `descriptor` from node `from` into `staging` (which must
 * not exist), checking every file's length and checksum, and makes it
 * durable (files, then the directory).
 */
export async function fetchSnapshot(
  rpc: PeerRpc,
  fs: FileSystem,
  from: number,
  descriptor: SnapshotDescriptor,
  staging: string,
): Promise<void> {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(descriptor.groupId, 0);
  head.writeBigUInt64LE(BigInt(descriptor.index), 4);
  const manifest = decodeManifest(
    await rpc.call(from, SnapshotMethod.Manifest, head, requestTimeoutMs),
  );
  await fs.mkdir(staging);
  for (const entry of manifest) {
    const file = await fs.create(joinPath(staging, entry.name));
    let crc = 0;
    let offset = 0;
    // Several chunks in flight, written in order: one at a time, each chunk
    // would wait a whole round trip on a link shared with Raft traffic.
    const inFlight: Promise<Buffer>[] = [];
    let requested = 0;
    const requestMore = () => {
      while (inFlight.length < chunksInFlight && requested < entry.bytes) {
        const chunk = rpc.call(
          from,
          SnapshotMethod.Chunk,
          chunkRequest(head, entry.name, requested),
          requestTimeoutMs,
        );
        // Awaited in order below, where a failure surfaces; this only keeps
        // a chunk that fails after an earlier one did from going unhandled.
        chunk.catch(() => undefined);
        inFlight.push(chunk);
        requested += chunkBytes;
      }
    };
    try {
      requestMore();
      while (inFlight.length > 0) {
        const chunk = await inFlight.shift()!;
        requestMore();
        if (chunk.length === 0) break;
        crc = crc32c(chunk, 0, chunk.length, crc);
        await file.append(chunk);
        offset += chunk.length;
      }
      if (offset !== entry.bytes || crc !== entry.crc) {
        throw new MemraftError(
          "ERR_CORRUPTION",
          `snapshot file ${entry.name} from node ${from}: got ${offset} bytes with crc ${crc}, expected ${entry.bytes} with ${entry.crc}`,
          { file: entry.name, offset },
        );
      }
      await file.sync();
    } finally {
      await file.close();
    }
  }
  await fs.syncDirectory(staging);
}

function chunkRequest(head: Buffer, name: string, offset: number): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const body = Buffer.alloc(12 + 2 + nameBytes.length + 12);
  head.copy(body, 0);
  body.writeUInt16LE(nameBytes.length, 12);
  nameBytes.copy(body, 14);
  body.writeBigUInt64LE(BigInt(offset), 14 + nameBytes.length);
  body.writeUInt32LE(chunkBytes, 22 + nameBytes.length);
  return body;
}
