// An in-memory FileSystem that models what a crash can do to a real one,
// for crash tests of everything durable (LSM, Raft log).
//
// Fault model:
// - Each file keeps the bytes made durable by its last sync() apart from
//   what was written after. On crash() the unsynced tail is dropped, or kept
//   up to a random byte ("torn"), or kept up to a random byte with the last
//   part replaced by garbage ("garbage"), as the crash options say.
// - A truncate below the synced length is undone by a crash unless the file
//   was synced after it.
// - Directory entries (files created, renamed, linked, removed; directories
//   made) survive a crash only if their directory was synced after the
//   change; otherwise the directory reverts to its last synced listing.
//   An entry whose parent directory's own entry was lost goes with it, as
//   nothing can reach it after a real crash.
// - Every handle opened before a crash fails afterwards, as the process that
//   held it is gone; so does every call through a processView() taken
//   before the crash (a crashed engine's background work cannot touch the
//   state the next "process" recovers from).
// - `inject` makes chosen operations fail with an I/O error instead of
//   running (for "the disk write fails" tests).
// Randomness comes from the caller's seeded `random()`, so a failing seed
// replays exactly.

import type { FileSystem, ReadableFile, WritableFile } from "../../src/fs/file-system.js";
import { directoryOf } from "../../src/fs/file-system.js";
import { MemraftError } from "../../src/util/errors.js";

export type TearMode = "drop" | "torn" | "garbage";

export type FaultOperation =
  | "append"
  | "sync"
  | "read"
  | "create"
  | "open"
  | "rename"
  | "link"
  | "remove"
  | "truncate"
  | "syncDirectory"
  | "mkdir"
  | "removeDirectory";

/** Returns an error to fail the operation with, or undefined to let it run. */
export type FaultInjector = (operation: FaultOperation, path: string) => Error | undefined;

class Inode {
  data = Buffer.alloc(0);
  length = 0;
  /** Bytes [0, syncedLength) are durable and equal to `data` there, unless `durableOverride`. */
  syncedLength = 0;
  /** The durable contents when a truncate made them differ from the current prefix. */
  durableOverride: Buffer | undefined;

  contents(): Buffer {
    return this.data.subarray(0, this.length);
  }

  append(bytes: Buffer): void {
    if (this.length + bytes.length > this.data.length) {
      const grown = Buffer.alloc(Math.max(4096, 2 * (this.length + bytes.length)));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    bytes.copy(this.data, this.length);
    this.length += bytes.length;
  }

  truncate(length: number): void {
    if (length >= this.length) {
      this.append(Buffer.alloc(length - this.length));
      return;
    }
    if (length < this.syncedLength && this.durableOverride === undefined) {
      this.durableOverride = Buffer.from(this.data.subarray(0, this.syncedLength));
    }
    this.length = length;
    this.syncedLength = Math.min(this.syncedLength, length);
  }

  sync(): void {
    this.syncedLength = this.length;
    this.durableOverride = undefined;
  }

  /** The contents a crash leaves. */
  crash(mode: TearMode, random: () => number): void {
    if (this.durableOverride !== undefined) {
      const durable = this.durableOverride;
      this.data = Buffer.from(durable);
      this.length = durable.length;
      this.syncedLength = durable.length;
      this.durableOverride = undefined;
      return;
    }
    const unsynced = this.length - this.syncedLength;
    let kept = 0;
    if (mode !== "drop" && unsynced > 0) kept = Math.floor(random() * (unsynced + 1));
    if (mode === "garbage" && kept > 0) {
      const garbageStart = this.syncedLength + Math.floor(random() * kept);
      for (let i = garbageStart; i < this.syncedLength + kept; i++) {
        this.data[i] = Math.floor(random() * 256);
      }
    }
    this.length = this.syncedLength + kept;
    this.syncedLength = this.length;
  }
}

type Entry = { readonly kind: "file"; readonly inode: Inode } | { readonly kind: "directory" };

function normalize(path: string): string {
  let normalized = path.replace(/\/+/g, "/");
  while (normalized.startsWith("./")) normalized = normalized.slice(2);
  if (normalized.length > 1 && normalized.endsWith("/")) normalized = normalized.slice(0, -1);
  return normalized;
}

export interface CrashOptions {
  readonly mode: TearMode;
  readonly random: () => number;
}

export class FaultFileSystem implements FileSystem {
  private entries = new Map<string, Entry>();
  private durableEntries = new Map<string, Entry>();
  private generation = 0;
  inject: FaultInjector | undefined;
  /** fdatasync calls per path, for tests that check what is synced. */
  readonly syncCounts = new Map<string, number>();
  readonly directorySyncCounts = new Map<string, number>();

  constructor() {
    for (const root of [".", "/"]) {
      this.entries.set(root, { kind: "directory" });
      this.durableEntries.set(root, { kind: "directory" });
    }
  }

  /** Simulates power loss: see the fault model at the top of this file. */
  crash(options: CrashOptions): void {
    this.generation++;
    for (const path of [...this.durableEntries.keys()]) {
      if (!this.reachableAfterCrash(path)) this.durableEntries.delete(path);
    }
    this.entries = new Map(this.durableEntries);
    const seen = new Set<Inode>();
    for (const entry of this.entries.values()) {
      if (entry.kind !== "file" || seen.has(entry.inode)) continue;
      seen.add(entry.inode);
      entry.inode.crash(options.mode, options.random);
    }
  }

  private reachableAfterCrash(path: string): boolean {
    let child = path;
    let parent = directoryOf(child);
    while (parent !== child) {
      if (this.durableEntries.get(parent)?.kind !== "directory") return false;
      child = parent;
      parent = directoryOf(child);
    }
    return true;
  }

  /**
   * This file system as one simulated process sees it: after the next
   * crash() every call through the view fails (EIO), as the process that
   * made it is gone. Calls before the crash go straight through.
   */
  processView(): FileSystem {
    const generation = this.generation;
    const alive = async <T>(operation: string, path: string, run: () => Promise<T>): Promise<T> => {
      if (generation !== this.generation)
        throw this.error(operation, path, "EIO (process crashed)");
      return run();
    };
    return {
      openRead: (path) => alive("open", path, () => this.openRead(path)),
      create: (path) => alive("create", path, () => this.create(path)),
      openAppend: (path) => alive("open", path, () => this.openAppend(path)),
      readFile: (path) => alive("read", path, () => this.readFile(path)),
      rename: (from, to) => alive("rename", from, () => this.rename(from, to)),
      link: (existing, newPath) => alive("link", newPath, () => this.link(existing, newPath)),
      remove: (path) => alive("remove", path, () => this.remove(path)),
      truncate: (path, length) => alive("truncate", path, () => this.truncate(path, length)),
      list: (directory) => alive("list", directory, () => this.list(directory)),
      mkdir: (directory) => alive("mkdir", directory, () => this.mkdir(directory)),
      removeDirectory: (directory) =>
        alive("removeDirectory", directory, () => this.removeDirectory(directory)),
      syncDirectory: (directory) =>
        alive("syncDirectory", directory, () => this.syncDirectory(directory)),
      exists: (path) => alive("exists", path, () => this.exists(path)),
    };
  }

  /** Current contents of a file, for assertions and for corrupting on purpose. */
  contents(path: string): Buffer {
    return this.file("read", path).contents();
  }

  /** Overwrites bytes of a file in place and makes them durable (corruption tests). */
  corrupt(path: string, position: number, bytes: Buffer): void {
    const inode = this.file("write", path);
    bytes.copy(inode.data, position, 0, Math.min(bytes.length, inode.length - position));
  }

  async openRead(path: string): Promise<ReadableFile> {
    this.check("open", path);
    const inode = this.file("open", path);
    const generation = this.generation;
    return {
      path,
      size: async () => {
        this.checkHandle(generation, path);
        return inode.length;
      },
      read: async (position: number, length: number) => {
        this.checkHandle(generation, path);
        this.check("read", path);
        const end = Math.min(inode.length, position + length);
        return Buffer.from(inode.data.subarray(Math.min(position, end), end));
      },
      close: async () => {},
    };
  }

  async create(path: string): Promise<WritableFile> {
    this.check("create", path);
    this.requireDirectory(directoryOf(normalize(path)), path);
    const existing = this.entries.get(normalize(path));
    let inode: Inode;
    if (existing?.kind === "file") {
      inode = existing.inode;
      inode.truncate(0);
    } else {
      inode = new Inode();
      this.entries.set(normalize(path), { kind: "file", inode });
    }
    return this.writable(path, inode);
  }

  async openAppend(path: string): Promise<WritableFile> {
    this.check("open", path);
    return this.writable(path, this.file("open", path));
  }

  async readFile(path: string): Promise<Buffer> {
    this.check("read", path);
    return Buffer.from(this.file("read", path).contents());
  }

  async rename(from: string, to: string): Promise<void> {
    this.check("rename", from);
    const entry = this.entries.get(normalize(from));
    if (entry === undefined) throw this.missing("rename", from);
    this.requireDirectory(directoryOf(normalize(to)), to);
    this.entries.delete(normalize(from));
    this.entries.set(normalize(to), entry);
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.check("link", newPath);
    const inode = this.file("link", existing);
    if (this.entries.has(normalize(newPath))) throw this.error("link", newPath, "EEXIST");
    this.requireDirectory(directoryOf(normalize(newPath)), newPath);
    this.entries.set(normalize(newPath), { kind: "file", inode });
  }

  async remove(path: string): Promise<void> {
    this.check("remove", path);
    this.file("remove", path);
    this.entries.delete(normalize(path));
  }

  async truncate(path: string, length: number): Promise<void> {
    this.check("truncate", path);
    this.file("truncate", path).truncate(length);
  }

  async list(directory: string): Promise<string[]> {
    const dir = normalize(directory);
    this.requireDirectory(dir, directory);
    const names: string[] = [];
    for (const path of this.entries.keys()) {
      if (path !== dir && directoryOf(path) === dir)
        names.push(path.slice(path.lastIndexOf("/") + 1));
    }
    return names.sort();
  }

  async mkdir(directory: string): Promise<void> {
    this.check("mkdir", directory);
    let path = normalize(directory);
    const missing: string[] = [];
    while (!this.entries.has(path)) {
      missing.push(path);
      path = directoryOf(path);
    }
    if (this.entries.get(path)?.kind !== "directory")
      throw this.error("mkdir", directory, "ENOTDIR");
    for (const created of missing) this.entries.set(created, { kind: "directory" });
  }

  async removeDirectory(directory: string): Promise<void> {
    this.check("removeDirectory", directory);
    const dir = normalize(directory);
    this.requireDirectory(dir, directory);
    if ((await this.list(dir)).length > 0)
      throw this.error("removeDirectory", directory, "ENOTEMPTY");
    this.entries.delete(dir);
  }

  async syncDirectory(directory: string): Promise<void> {
    this.check("syncDirectory", directory);
    const dir = normalize(directory);
    this.requireDirectory(dir, directory);
    this.directorySyncCounts.set(dir, (this.directorySyncCounts.get(dir) ?? 0) + 1);
    for (const path of [...this.durableEntries.keys()]) {
      if (path !== dir && directoryOf(path) === dir && !this.entries.has(path)) {
        this.durableEntries.delete(path);
      }
    }
    for (const [path, entry] of this.entries) {
      if (path !== dir && directoryOf(path) === dir) this.durableEntries.set(path, entry);
    }
  }

  async exists(path: string): Promise<boolean> {
    return this.entries.has(normalize(path));
  }

  private writable(path: string, inode: Inode): WritableFile {
    const generation = this.generation;
    const fs = this;
    return {
      path,
      get size() {
        return inode.length;
      },
      async append(data: Buffer | readonly Buffer[]) {
        fs.checkHandle(generation, path);
        fs.check("append", path);
        for (const buffer of Buffer.isBuffer(data) ? [data] : data) inode.append(buffer);
      },
      async sync() {
        fs.checkHandle(generation, path);
        fs.check("sync", path);
        fs.syncCounts.set(path, (fs.syncCounts.get(path) ?? 0) + 1);
        inode.sync();
      },
      async close() {},
    };
  }

  private file(operation: string, path: string): Inode {
    const entry = this.entries.get(normalize(path));
    if (entry === undefined) throw this.missing(operation, path);
    if (entry.kind !== "file") throw this.error(operation, path, "EISDIR");
    return entry.inode;
  }

  private requireDirectory(directory: string, path: string): void {
    if (this.entries.get(directory)?.kind !== "directory") throw this.missing("lookup", path);
  }

  private check(operation: FaultOperation, path: string): void {
    const injected = this.inject?.(operation, path);
    if (injected !== undefined) throw injected;
  }

  private checkHandle(generation: number, path: string): void {
    if (generation !== this.generation)
      throw this.error("use", path, "EBADF (opened before a crash)");
  }

  private missing(operation: string, path: string): MemraftError {
    return this.error(operation, path, "ENOENT");
  }

  private error(operation: string, path: string, code: string): MemraftError {
    return new MemraftError("ERR_IO", `${operation} ${path} failed: ${code}`, { path, operation });
  }
}
