// The shape of a client history, as the linearizability checker reads it.
// Producers (the simulator, cluster tests, fixture parsers) build Operation
// values; the checker and the models only read them.
//
// Times are any monotonic numbers (virtual ticks, event sequence numbers,
// nanoseconds) as long as one history uses one clock. Intervals are closed:
// two operations whose intervals touch are concurrent.

/** An operation whose outcome the client never learned (timeout, crash). */
export const unknownReturn = Number.POSITIVE_INFINITY;

export interface Operation<Input, Output> {
  /** Who issued it; only used in reports. */
  readonly clientId: number;
  readonly input: Input;
  /**
   * What the client observed. `undefined` exactly when the outcome is unknown
   * (then `returnTime` is `unknownReturn`): the model must accept any effect
   * the input could have had, including none.
   */
  readonly output: Output | undefined;
  readonly callTime: number;
  readonly returnTime: number;
}

/**
 * Builds a history from call/return events in the order they happened, the
 * way a client harness records them: `call` returns a handle, and each handle
 * ends with `ok(output)`, `fail()` (certainly no effect: dropped), or
 * `unknown()` / nothing at all (the effect may or may not have happened).
 */
export class HistoryRecorder<Input, Output> {
  private time = 0;
  private readonly open = new Map<number, { clientId: number; input: Input; callTime: number }>();
  private readonly done: Operation<Input, Output>[] = [];
  private nextHandle = 0;

  call(clientId: number, input: Input): number {
    const handle = this.nextHandle++;
    this.open.set(handle, { clientId, input, callTime: this.time++ });
    return handle;
  }

  ok(handle: number, output: Output): void {
    const pending = this.take(handle);
    this.done.push({ ...pending, output, returnTime: this.time++ });
  }

  fail(handle: number): void {
    this.take(handle);
  }

  unknown(handle: number): void {
    const pending = this.take(handle);
    this.done.push({ ...pending, output: undefined, returnTime: unknownReturn });
  }

  /** Every completed operation plus the still-open ones as unknown. */
  operations(): Operation<Input, Output>[] {
    const result = [...this.done];
    for (const pending of this.open.values()) {
      result.push({ ...pending, output: undefined, returnTime: unknownReturn });
    }
    return result;
  }

  private take(handle: number): { clientId: number; input: Input; callTime: number } {
    const pending = this.open.get(handle);
    if (pending === undefined) throw new Error(`history: handle ${handle} is not open`);
    this.open.delete(handle);
    return pending;
  }
}
