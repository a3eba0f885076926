// The file-system interface every durable part of memraft (the LSM engine,
// the Raft log) goes through, so that tests can swap in a fake that loses
// unsynced data on a simulated crash (test/helpers/fault-fs.ts).
//
// Durability contract, the same as POSIX on the file systems we run on:
// - bytes appended to a file are durable only after that file's sync();
// - a directory entry (a file created, renamed, linked or removed; a
//   directory made) is durable only after syncDirectory() of its directory;
// - rename() atomically replaces the target: after a crash the name points
//   to either the old or the new file, never to a mix;
// - nothing else is promised: after a crash an unsynced tail may be missing,
//   or present up to any byte.
//
// Paths are plain strings joined with "/"; implementations do not resolve
// "..". Methods reject with MemraftError code ERR_IO, naming the path.

export interface ReadableFile {
  readonly path: string;
  /** Current size in bytes. */
  size(): Promise<number>;
  /**
   * Reads up to `length` bytes at `position`; fewer only at the end of the
   * file. The returned Buffer belongs to the caller.
   */
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface WritableFile {
  readonly path: string;
  /** Bytes in the file, appended ones included, synced or not. */
  readonly size: number;
  /** Appends the buffers in order as one write. The caller must not change them until it settles. */
  append(data: Buffer | readonly Buffer[]): Promise<void>;
  /** Makes every byte appended so far durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** Opens an existing file for reading. */
  openRead(path: string): Promise<ReadableFile>;
  /** Creates a file, or truncates an existing one, for appending. */
  create(path: string): Promise<WritableFile>;
  /** Opens an existing file for appending at its end. */
  openAppend(path: string): Promise<WritableFile>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Buffer>;
  /** Atomically gives `from` the name `to`, replacing any file there. */
  rename(from: string, to: string): Promise<void>;
  /** Gives an existing file a second name (a hard link): checkpoints share bytes this way. */
  link(existing: string, newPath: string): Promise<void>;
  /** Removes a name; the bytes go when no name or open handle uses them. */
  remove(path: string): Promise<void>;
  /** Cuts a file to `length` bytes (durable after the file is synced). */
  truncate(path: string, length: number): Promise<void>;
  /** Names in a directory, sorted. */
  list(directory: string): Promise<string[]>;
  /** Makes a directory and its missing parents. */
  mkdir(directory: string): Promise<void>;
  /** Removes an empty directory (durable after its parent is synced). */
  removeDirectory(directory: string): Promise<void>;
  /** Makes the directory's entries durable. */
  syncDirectory(directory: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** The directory part of a path ("a/b/c" -> "a/b"; "c" -> "."). */
export function directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash === -1) return ".";
  if (slash === 0) return "/";
  return path.slice(0, slash);
}

export function joinPath(directory: string, name: string): string {
  return directory.endsWith("/") ? directory + name : `${directory}/${name}`;
}
