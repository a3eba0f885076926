// The FileSystem interface on Node's fs/promises. Every failure becomes a
// MemraftError (ERR_IO) naming the operation and path, with the system
// error as its cause.

import { constants, promises as fsp, read as readCallback } from "node:fs";
import { MemraftError } from "../util/errors.js";
import type { FileSystem, ReadableFile, WritableFile } from "./file-system.js";

function ioError(operation: string, path: string, cause: unknown): MemraftError {
  const code = (cause as { code?: string }).code ?? "unknown";
  return new MemraftError(
    "ERR_IO",
    `${operation} ${path} failed: ${code}`,
    { path, operation },
    { cause },
  );
}

async function attempt<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw ioError(operation, path, error);
  }
}

/** One pread through the callback API: it costs less per call than FileHandle.read. */
function readAt(
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    readCallback(fd, buffer, offset, length, position, (error, bytesRead) => {
      if (error === null) resolve(bytesRead);
      else reject(error);
    });
  });
}

class NodeReadableFile implements ReadableFile {
  /** Reads in flight on the raw descriptor, which FileHandle.close() does not wait for. */
  private reading = 0;
  private idle: (() => void) | undefined;
  /** Every close() shares one: a second caller would otherwise replace the first's idle waiter. */
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
  ) {}

  size(): Promise<number> {
    return attempt("stat", this.path, async () => (await this.handle.stat()).size);
  }

  read(position: number, length: number): Promise<Buffer> {
    return attempt("read", this.path, async () => {
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      this.reading++;
      try {
        while (filled < length) {
          const bytesRead = await readAt(
            this.handle.fd,
            buffer,
            filled,
            length - filled,
            position + filled,
          );
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
      } finally {
        if (--this.reading === 0) this.idle?.();
      }
      return filled === length ? buffer : buffer.subarray(0, filled);
    });
  }

  close(): Promise<void> {
    this.closing ??= attempt("close", this.path, async () => {
      // Closing under a queued read could hand its descriptor number to another file.
      if (this.reading > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await this.handle.close();
    });
    return this.closing;
  }
}

class NodeWritableFile implements WritableFile {
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    public size: number,
  ) {}

  append(data: Buffer | readonly Buffer[]): Promise<void> {
    const buffers = Buffer.isBuffer(data) ? [data] : data;
    return attempt("write", this.path, async () => {
      let total = 0;
      for (const buffer of buffers) total += buffer.length;
      let { bytesWritten } = await this.handle.writev(buffers as Buffer[]);
      // A short write is rare (disk full, signals); finish it piece by piece.
      if (bytesWritten < total) {
        const rest = Buffer.concat(buffers as Buffer[]).subarray(bytesWritten);
        let offset = 0;
        while (offset < rest.length) {
          const result = await this.handle.write(rest, offset, rest.length - offset);
          offset += result.bytesWritten;
        }
        bytesWritten = total;
      }
      this.size += bytesWritten;
    });
  }

  sync(): Promise<void> {
    return attempt("fdatasync", this.path, () => this.handle.datasync());
  }

  close(): Promise<void> {
    return attempt("close", this.path, () => this.handle.close());
  }
}

export class NodeFileSystem implements FileSystem {
  openRead(path: string): Promise<ReadableFile> {
    return attempt("open", path, async () => new NodeReadableFile(path, await fsp.open(path, "r")));
  }

  create(path: string): Promise<WritableFile> {
    return attempt(
      "create",
      path,
      async () => new NodeWritableFile(path, await fsp.open(path, "w"), 0),
    );
  }

  openAppend(path: string): Promise<WritableFile> {
    return attempt("open", path, async () => {
      const handle = await fsp.open(path, constants.O_WRONLY | constants.O_APPEND);
      const { size } = await handle.stat();
      return new NodeWritableFile(path, handle, size);
    });
  }

  readFile(path: string): Promise<Buffer> {
    return attempt("read", path, () => fsp.readFile(path));
  }

  rename(from: string, to: string): Promise<void> {
    return attempt("rename", `${from} -> ${to}`, () => fsp.rename(from, to));
  }

  link(existing: string, newPath: string): Promise<void> {
    return attempt("link", `${existing} -> ${newPath}`, () => fsp.link(existing, newPath));
  }

  remove(path: string): Promise<void> {
    return attempt("unlink", path, () => fsp.unlink(path));
  }

  truncate(path: string, length: number): Promise<void> {
    return attempt("truncate", path, () => fsp.truncate(path, length));
  }

  list(directory: string): Promise<string[]> {
    return attempt("readdir", directory, async () => (await fsp.readdir(directory)).sort());
  }

  mkdir(directory: string): Promise<void> {
    return attempt("mkdir", directory, async () => {
      await fsp.mkdir(directory, { recursive: true });
    });
  }

  removeDirectory(directory: string): Promise<void> {
    return attempt("rmdir", directory, () => fsp.rmdir(directory));
  }

  syncDirectory(directory: string): Promise<void> {
    return attempt("fsync directory", directory, async () => {
      const handle = await fsp.open(directory, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.access(path);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return false;
      throw ioError("access", path, error);
    }
  }
}
