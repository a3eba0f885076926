// The node's shared Raft log: one segmented, append-only file sequence for
// every group on the node (format in log-format.ts, recovery in
// log-reader.ts). Writes from all groups are gathered and made durable
// together: one append and one fdatasync per batch (group commit).
//
// Segments roll over at segmentBytesMax; a new segment starts with every
// group's hard state and compaction point, so a segment can be deleted as
// soon as every entry in it is compacted away.
//
// A failed write or sync fails the batch and every later call: after an
// fsync error the page cache state is unknown, so the node must restart and
// recover from what is on disk.

import { makeDirectoryDurably } from "../../fs/durable-file.js";
import type { FileSystem, WritableFile } from "../../fs/file-system.js";
import { joinPath } from "../../fs/file-system.js";
import { assert } from "../../util/assert.js";
import { MemraftError } from "../../util/errors.js";
import type { Ready } from "../raw-node.js";
import type { Entry, HardState, SnapshotMeta } from "../types.js";
import {
  encodeRecord,
  encodeSegmentHeader,
  type LogRecord,
  RecordType,
  segmentName,
} from "./log-format.js";
import { type RecoveredGroup, type Recovery, recoverLog } from "./log-reader.js";

const resolvedVoid: Promise<void> = Promise.resolve();

export interface LogStorageOptions {
  readonly segmentBytesMax?: number;
}

/** What one group's Ready asks to persist. */
export interface GroupWrite {
  /** A snapshot installed here: every older entry of the group is void. */
  readonly snapshot?: SnapshotMeta | undefined;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState | undefined;
  /**
   * False when the write need not be durable before save() resolves (the
   * Ready's mustSync: a hard state that moved only its commit); it then goes
   * to disk with the next write. Default true.
   */
  readonly mustSync?: boolean;
}

/** What a Ready asks the log to persist (step 1 of the Ready contract), if anything. */
export function readyWrite(ready: Ready): GroupWrite | undefined {
  if (ready.snapshot === undefined && ready.entries.length === 0 && ready.hardState === undefined)
    return undefined;
  return {
    snapshot: ready.snapshot?.meta,
    entries: ready.entries,
    hardState: ready.hardState,
    mustSync: ready.mustSync,
  };
}

interface GroupMarks {
  hardState: HardState;
  offset: number;
  offsetTerm: number;
  lastIndex: number;
}

interface Segment {
  readonly number: number;
  readonly path: string;
  readonly maxIndexes: Map<number, number>;
}

export class RaftLogStorage {
  private readonly marks = new Map<number, GroupMarks>();
  private pending: Buffer[] = [];
  /** Highest entry index per group in `pending`: credited to the segment they land in. */
  private pendingMaxIndexes = new Map<number, number>();
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing = false;
  private failure: Error | undefined;
  private closed = false;
  /** Batches written; each cost one fdatasync. */
  syncCount = 0;

  private constructor(
    private readonly fs: FileSystem,
    private readonly directory: string,
    private readonly segmentBytesMax: number,
    private readonly segments: Segment[],
    private file: WritableFile,
    private readonly recovered: Map<number, RecoveredGroup>,
    readonly recovery: Recovery,
  ) {
    for (const [groupId, group] of recovered) {
      this.marks.set(groupId, {
        hardState: group.hardState,
        offset: group.offset,
        offsetTerm: group.offsetTerm,
        lastIndex: group.offset + group.entries.length,
      });
    }
  }

  /** Opens (recovering, and cutting a torn tail) or creates the log in `directory`. */
  static async open(
    fs: FileSystem,
    directory: string,
    options: LogStorageOptions = {},
  ): Promise<RaftLogStorage> {
    await makeDirectoryDurably(fs, directory);
    const recovery = await recoverLog(fs, directory);
    const segments: Segment[] = recovery.segments.map((s) => ({
      number: s.number,
      path: s.path,
      maxIndexes: s.maxIndexes,
    }));
    let file: WritableFile;
    const last = recovery.segments[recovery.segments.length - 1];
    if (last === undefined || last.validBytes < 20) {
      const number = (last?.number ?? 0) + (last === undefined ? 1 : 0);
      file = await createSegment(fs, directory, number);
      if (last === undefined) segments.push({ number, path: file.path, maxIndexes: new Map() });
    } else {
      if (recovery.torn !== undefined) {
        await fs.truncate(last.path, last.validBytes);
      }
      file = await fs.openAppend(last.path);
      if (recovery.torn !== undefined) await file.sync();
    }
    return new RaftLogStorage(
      fs,
      directory,
      options.segmentBytesMax ?? 64 * 1024 * 1024,
      segments,
      file,
      recovery.groups,
      recovery,
    );
  }

  groupIds(): number[] {
    return [...this.marks.keys()].sort((a, b) => a - b);
  }

  /**
   * The recovered state of a group, handed out once (the caller's Raft core
   * keeps the entries from then on).
   */
  takeRecovered(groupId: number): RecoveredGroup | undefined {
    const group = this.recovered.get(groupId);
    this.recovered.delete(groupId);
    return group;
  }

  /** Persists one group's Ready; resolves once durable, together with everything queued beside it. */
  save(groupId: number, write: GroupWrite): Promise<void> {
    const marks = this.groupMarks(groupId);
    if (write.snapshot !== undefined) {
      this.queue({ type: RecordType.truncate, groupId, fromIndex: 0 });
      this.queue({
        type: RecordType.compact,
        groupId,
        index: write.snapshot.index,
        term: write.snapshot.term,
      });
      marks.offset = write.snapshot.index;
      marks.offsetTerm = write.snapshot.term;
      marks.lastIndex = write.snapshot.index;
    }
    const entries = write.entries ?? [];
    const first = entries[0];
    if (first !== undefined) {
      assert(
        first.index <= marks.lastIndex + 1,
        () => `log storage: group ${groupId} gap before ${first.index}`,
      );
      if (first.index <= marks.lastIndex)
        this.queue({ type: RecordType.truncate, groupId, fromIndex: first.index });
      this.queue({ type: RecordType.entries, groupId, entries });
      marks.lastIndex = entries[entries.length - 1]!.index;
      this.pendingMaxIndexes.set(
        groupId,
        Math.max(this.pendingMaxIndexes.get(groupId) ?? 0, marks.lastIndex),
      );
    }
    if (write.hardState !== undefined) {
      marks.hardState = write.hardState;
      this.queue({ type: RecordType.hardState, groupId, hardState: write.hardState });
    }
    // A hard state that moved only its commit need not be durable before
    // anything happens (etcd's MustSync): a commit index lost in a crash is
    // learned again, and what was applied proves its own commit (the owner
    // starts from the larger of the two). The record goes with the next write.
    if (write.mustSync === false)
      return this.failure === undefined ? resolvedVoid : Promise.reject(this.failure);
    return this.waitForSync();
  }

  /** Records that a group's entries up to `index` are covered by its state machine's snapshot. */
  compact(groupId: number, index: number, term: number): Promise<void> {
    const marks = this.groupMarks(groupId);
    if (index <= marks.offset) return Promise.resolve();
    marks.offset = index;
    marks.offsetTerm = term;
    marks.lastIndex = Math.max(marks.lastIndex, index);
    this.queue({ type: RecordType.compact, groupId, index, term });
    return this.waitForSync();
  }

  /**
   * Forgets a group that left this node: its entries no longer keep any
   * segment, and recovery will not bring it back. Resolves once durable.
   */
  removeGroup(groupId: number): Promise<void> {
    this.groupMarks(groupId);
    this.marks.delete(groupId);
    this.recovered.delete(groupId);
    this.pendingMaxIndexes.delete(groupId);
    for (const segment of this.segments) segment.maxIndexes.delete(groupId);
    this.queue({ type: RecordType.remove, groupId });
    return this.waitForSync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // After a failed write nothing more is written: records queued behind it
    // stay unwritten, and waiting for them would spin forever (waitForSync
    // rejects at once).
    while ((this.flushing || this.pending.length > 0) && this.failure === undefined)
      await this.waitForSync().catch(() => {});
    this.closed = true;
    await this.file.close();
  }

  private groupMarks(groupId: number): GroupMarks {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed)
      throw new MemraftError("ERR_CLOSED", "raft log is closed", { directory: this.directory });
    let marks = this.marks.get(groupId);
    if (marks === undefined) {
      marks = {
        hardState: { term: 0, vote: 0, commit: 0 },
        offset: 0,
        offsetTerm: 0,
        lastIndex: 0,
      };
      this.marks.set(groupId, marks);
    }
    return marks;
  }

  private queue(record: LogRecord): void {
    const bytes = encodeRecord(record);
    this.pending.push(bytes);
  }

  private waitForSync(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.flushing) {
      this.flushing = true;
      // Let every group that is ready in this turn of the event loop join.
      setImmediate(() => void this.flush());
    }
    return promise;
  }

  private async flush(): Promise<void> {
    while (this.waiters.length > 0) {
      const buffers = this.pending;
      const waiters = this.waiters;
      const maxIndexes = this.pendingMaxIndexes;
      this.pendingMaxIndexes = new Map();
      this.pending = [];
      this.waiters = [];
      try {
        if (buffers.length > 0) {
          const current = this.segments[this.segments.length - 1]!;
          for (const [groupId, index] of maxIndexes) {
            current.maxIndexes.set(groupId, Math.max(current.maxIndexes.get(groupId) ?? 0, index));
          }
          await this.file.append(buffers);
          await this.file.sync();
          this.syncCount++;
        }
        if (this.file.size >= this.segmentBytesMax) await this.rollSegment();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.failure = new MemraftError(
          "ERR_IO",
          "raft log write failed; the node must restart",
          { directory: this.directory },
          { cause: error },
        );
        for (const waiter of [...waiters, ...this.waiters]) waiter.reject(this.failure);
        this.waiters = [];
        break;
      }
    }
    this.flushing = false;
  }

  private async rollSegment(): Promise<void> {
    const number = this.segments[this.segments.length - 1]!.number + 1;
    const file = await createSegment(this.fs, this.directory, number);
    const checkpoint: Buffer[] = [];
    for (const [groupId, marks] of this.marks) {
      checkpoint.push(
        encodeRecord({
          type: RecordType.compact,
          groupId,
          index: marks.offset,
          term: marks.offsetTerm,
        }),
      );
      checkpoint.push(
        encodeRecord({ type: RecordType.hardState, groupId, hardState: marks.hardState }),
      );
    }
    if (checkpoint.length > 0) {
      await file.append(checkpoint);
      await file.sync();
    }
    await this.file.close();
    this.file = file;
    this.segments.push({ number, path: file.path, maxIndexes: new Map() });
    await this.deleteCompactedSegments();
  }

  /** Removes the oldest segments whose every entry is compacted away. */
  private async deleteCompactedSegments(): Promise<void> {
    let removed = false;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      let live = false;
      for (const [groupId, maxIndex] of oldest.maxIndexes) {
        if (maxIndex > (this.marks.get(groupId)?.offset ?? 0)) live = true;
      }
      if (live) break;
      await this.fs.remove(oldest.path);
      this.segments.shift();
      removed = true;
    }
    if (removed) await this.fs.syncDirectory(this.directory);
  }

  /** Segment files in use, oldest first. */
  segmentPaths(): string[] {
    return this.segments.map((segment) => segment.path);
  }
}

async function createSegment(
  fs: FileSystem,
  directory: string,
  number: number,
): Promise<WritableFile> {
  const file = await fs.create(joinPath(directory, segmentName(number)));
  await file.append(encodeSegmentHeader(number));
  await file.sync();
  await fs.syncDirectory(directory);
  return file;
}
