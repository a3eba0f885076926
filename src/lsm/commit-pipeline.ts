// Group commit for the write-ahead log (research notes §3.3): writers queue
// their encoded batches; one loop takes everything queued (up to
// commitGroupBytesMax), writes it in one append, fdatasyncs once if any
// writer asked for sync, then applies the batches to the memtable in queue
// order and settles every writer. While one group is on disk the next one
// gathers, so N concurrent synced writers share about one fsync per group.
//
// Ordering: batches reach the memtable in the order they reach the log, and
// only after the log write (and sync, for a group holding a synced write)
// succeeded; so a reader never sees a write that a crash could take back
// from a synced writer, and a process crash keeps every acknowledged write.
//
// When the log goes idle after a synced group, a SYNCED marker (not synced
// itself) is appended, so that recovery can tell damage in the last synced
// records from a torn tail.
//
// Barriers run inside the loop between groups (memtable/WAL rotation on
// flush()). A failed write or sync fails the group and every write queued
// after it: the engine stops (a failed fsync may have lost data that a retry
// would pretend is safe).

import { commitGroupBytesMax } from "./limits.js";
import type { LogWriter } from "./log-writer.js";

export interface QueuedWrite {
  readonly payload: Buffer;
  /** Keys of the batch, in order (latin1), so that apply need not decode them. */
  readonly keys: readonly string[];
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Barrier {
  readonly barrier: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export interface CommitHost {
  /** Called before each group: rotates the memtable and log when the memtable is full. */
  prepareGroup(): Promise<void>;
  readonly log: LogWriter;
  apply(write: QueuedWrite): void;
  /** The pipeline failed: the engine must stop. */
  fail(error: Error): void;
  counted(groupBytes: number, synced: boolean): void;
}

export class CommitPipeline {
  private readonly queue: (QueuedWrite | Barrier)[] = [];
  private running = false;
  /** Payload bytes queued and not yet written. */
  queuedBytes = 0;
  private idleWaiters: (() => void)[] = [];
  private markerTimer: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(private readonly host: CommitHost) {}

  get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  enqueue(write: QueuedWrite): void {
    this.queue.push(write);
    this.queuedBytes += write.payload.length;
    this.kick();
  }

  /** Runs `barrier` once every write queued before it is applied. */
  barrier(barrier: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ barrier, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once nothing is queued or running. */
  drained(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if ("barrier" in head) {
        this.queue.shift();
        try {
          await head.barrier();
          head.resolve();
        } catch (error) {
          head.reject(error as Error);
        }
        continue;
      }
      const group = this.takeGroup();
      try {
        await this.host.prepareGroup();
        const payloads = group.map((write) => write.payload);
        const synced = group.some((write) => write.sync);
        await this.host.log.append(payloads);
        if (synced) await this.host.log.sync();
        let bytes = 0;
        for (const write of group) {
          bytes += write.payload.length;
          this.host.apply(write);
        }
        this.queuedBytes -= bytes;
        this.host.counted(bytes, synced);
        for (const write of group) write.resolve();
        if (synced && this.queue.length === 0) this.scheduleMarker();
      } catch (error) {
        this.failAll(group, error as Error);
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * After a synced group that leaves the queue empty: on the next turn of
   * the event loop, if the log is still idle, append a marker promising the
   * synced records (log-format.ts). The writers just acknowledged usually
   * queue their next write within this turn, and their group then carries
   * the promise: a marker costs a write only when the log really goes idle,
   * and never delays a group.
   */
  private scheduleMarker(): void {
    if (this.markerTimer !== undefined || this.stopped) return;
    this.markerTimer = setImmediate(() => {
      this.markerTimer = undefined;
      if (!this.idle || this.stopped) return;
      this.barrier(() => this.host.log.appendMarker()).catch((error: unknown) =>
        this.host.fail(error as Error),
      );
    });
  }

  /** No more markers: the log is about to close. Call once the pipeline drained. */
  stop(): void {
    this.stopped = true;
    if (this.markerTimer !== undefined) clearImmediate(this.markerTimer);
    this.markerTimer = undefined;
  }

  private takeGroup(): QueuedWrite[] {
    const group: QueuedWrite[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if ("barrier" in next) break;
      if (group.length > 0 && bytes + next.payload.length > commitGroupBytesMax) break;
      group.push(next);
      bytes += next.payload.length;
      this.queue.shift();
    }
    return group;
  }

  private failAll(group: QueuedWrite[], error: Error): void {
    this.host.fail(error);
    const pending = [...group, ...this.queue.splice(0)];
    this.queuedBytes = 0;
    for (const item of pending) item.reject(error);
  }
}
