// Assertions for programming errors. A failed assertion is a bug: it throws
// AssertionError, which nothing may catch; the process dies and recovers from
// its durable state. Operating errors (bad input, full queues, I/O) are
// MemraftError values instead (see errors.ts).

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws when `condition` is false. `message` is built only on failure. */
export function assert(condition: unknown, message?: string | (() => string)): asserts condition {
  if (condition) return;
  const text = typeof message === "function" ? message() : message;
  throw new AssertionError(text ?? "assertion failed");
}

/** Marks a branch the type system proves cannot be reached. */
export function unreachable(value: never): never {
  throw new AssertionError(`unreachable: ${String(value)}`);
}

/**
 * Documents that a condition may go either way at this point; it checks
 * nothing. Tests that want proof both ways can count calls.
 */
export function maybe(_condition: boolean): void {}
