// Where CPU jobs run (worker-protocol.ts). By default, one worker thread
// shared by every engine in the process (a node hosts many Raft groups on two
// cores: one background thread, like LevelDB's). Jobs queue by priority —
// flushes before compaction steps — and one message is in flight at a time,
// so a flush waits for at most one compaction step.
//
// InlineExecutor runs the same jobs on the main thread, one at a time from
// setImmediate: deterministic under the in-memory fault file system, so a
// failing seed replays exactly. For tests; it blocks the event loop while a
// job runs.

import { Worker } from "node:worker_threads";
import { JobHandler } from "./job-handler.js";
import { type JobRequest, type JobResponse, transferablesOf } from "./worker-protocol.js";

export const JobPriority = { flush: 0, compaction: 1 } as const;
export type JobPriority = (typeof JobPriority)[keyof typeof JobPriority];

export interface JobExecutor {
  /** Runs a job; buffers in `request` are transferred (the caller must not touch them after). */
  submit(request: JobRequest, priority: JobPriority): Promise<JobResponse>;
  /**
   * A new compaction session id. Sessions live where the jobs run, which
   * several engines may share: ids come from here so that two engines
   * never feed each other's sessions.
   */
  newSession(): number;
  /** The engine that acquired this executor no longer needs it. */
  release(): void;
}

interface QueuedJob {
  readonly request: JobRequest;
  readonly resolve: (response: JobResponse) => void;
  readonly reject: (error: Error) => void;
}

export class WorkerExecutor implements JobExecutor {
  private static shared: WorkerExecutor | undefined;
  private users = 0;
  private worker: Worker | undefined;
  private readonly queues: [QueuedJob[], QueuedJob[]] = [[], []];
  private inFlight: QueuedJob | undefined;
  private nextId = 1;
  private inFlightId = 0;
  private nextSession = 1;

  /** The process-wide executor, counted as used until release(). */
  static acquire(): WorkerExecutor {
    WorkerExecutor.shared ??= new WorkerExecutor();
    WorkerExecutor.shared.users++;
    return WorkerExecutor.shared;
  }

  newSession(): number {
    return this.nextSession++;
  }

  submit(request: JobRequest, priority: JobPriority): Promise<JobResponse> {
    return new Promise((resolve, reject) => {
      this.queues[priority].push({ request, resolve, reject });
      this.pump();
    });
  }

  release(): void {
    this.users--;
    if (this.users > 0) return;
    if (WorkerExecutor.shared === this) WorkerExecutor.shared = undefined;
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined && this.inFlight === undefined) void worker.terminate();
  }

  private pump(): void {
    if (this.inFlight !== undefined) return;
    const job = this.queues[0].shift() ?? this.queues[1].shift();
    if (job === undefined) {
      this.worker?.unref();
      if (this.users <= 0 && this.worker !== undefined) {
        void this.worker.terminate();
        this.worker = undefined;
      }
      return;
    }
    const worker = this.worker ?? this.start();
    this.inFlight = job;
    this.inFlightId = this.nextId++;
    worker.ref();
    worker.postMessage({ id: this.inFlightId, request: job.request }, transferablesOf(job.request));
  }

  private start(): Worker {
    const worker = new Worker(new URL("./job-worker.js", import.meta.url));
    worker.on("message", (message: { id: number; response: JobResponse }) => {
      const job = this.inFlight;
      if (job === undefined || message.id !== this.inFlightId) return;
      this.inFlight = undefined;
      job.resolve(message.response);
      this.pump();
    });
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      const job = this.inFlight;
      this.inFlight = undefined;
      job?.reject(error);
      this.pump();
    };
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) => {
      if (this.inFlight !== undefined) fail(new Error(`LSM job worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }
}

export class InlineExecutor implements JobExecutor {
  private readonly handler = new JobHandler();
  private queue: Promise<unknown> = Promise.resolve();
  private nextSession = 1;

  newSession(): number {
    return this.nextSession++;
  }

  submit(request: JobRequest): Promise<JobResponse> {
    const run = this.queue.then(
      () =>
        new Promise<JobResponse>((resolve, reject) => {
          setImmediate(() => this.handler.handle(request).then(resolve, reject));
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  release(): void {}
}
