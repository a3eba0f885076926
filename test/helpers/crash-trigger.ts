// Crashes a node running on the fault file system at a chosen point: just
// before, or just after, the n-th file-system operation that matches (say,
// the 3rd sync of an SST file, or the 2nd append to the raft log while the
// log is being truncated). "After" means the operation took effect and its
// caller never learned of it: the crash runs in a microtask queued by the
// operation, which the fault file system performs synchronously.
//
// After the crash every operation of the crashed "process" fails (see
// fault-fs.ts), so the node stops; the test starts a new node on the same
// file system, as a restarted process would.

import type { RaftLogStorage } from "../../src/raft/log-storage/log-storage.js";
import { MemraftError } from "../../src/util/errors.js";
import type { CrashOptions, FaultFileSystem, FaultOperation } from "./fault-fs.js";

export interface CrashPoint {
  readonly name: string;
  /** The operation to crash at; "any" counts every operation. */
  readonly operation: FaultOperation | "any";
  readonly path: RegExp;
  readonly when: "before" | "after";
  /** Counts only operations made while the raft log is being truncated. */
  readonly duringTruncation?: boolean;
}

export class CrashTrigger {
  private matched = 0;
  private truncationsInFlight = 0;
  /** What the crash hit, once it happened. */
  crashedAt: string | undefined;
  /** Log truncations started before the crash. */
  truncations = 0;

  constructor(
    private readonly fs: FaultFileSystem,
    private readonly point: CrashPoint,
    /** 1-based: which matching operation to crash at. */
    private readonly occurrence: number,
    private readonly crashOptions: CrashOptions,
  ) {
    fs.inject = (operation, path) => this.observe(operation, path);
  }

  get crashed(): boolean {
    return this.crashedAt !== undefined;
  }

  /** Crashes now, if the point was not reached. */
  crashNow(reason: string): void {
    if (!this.crashed) this.crash(reason);
  }

  /** Marks the raft log's truncations, for points that count only operations made during one. */
  watchTruncations(storage: RaftLogStorage): void {
    const compact = storage.compact.bind(storage);
    storage.compact = (groupId, index, term) => {
      this.truncations++;
      this.truncationsInFlight++;
      const done = compact(groupId, index, term);
      const settled = () => {
        this.truncationsInFlight--;
      };
      done.then(settled, settled);
      return done;
    };
  }

  private observe(operation: FaultOperation, path: string): Error | undefined {
    if (this.crashed) return undefined;
    const { point } = this;
    const matches =
      (point.operation === "any" || point.operation === operation) &&
      point.path.test(path) &&
      (point.duringTruncation !== true || this.truncationsInFlight > 0);
    if (!matches || ++this.matched !== this.occurrence) return undefined;
    const at = `${point.when} ${operation} ${path} (${point.name}, occurrence ${this.occurrence})`;
    if (point.when === "after") {
      queueMicrotask(() => this.crash(at));
      return undefined;
    }
    this.crash(at);
    return new MemraftError("ERR_IO", `${operation} ${path}: the process crashed before it`);
  }

  private crash(at: string): void {
    this.crashedAt = at;
    this.fs.inject = undefined;
    this.fs.crash(this.crashOptions);
  }
}
