// Operating errors: expected failures that callers handle (bad configuration,
// I/O failures, full queues). Each has a stable `code` so that callers match
// on the code rather than on the message, and a brand so that the check works
// across copies of this module.

const brand = Symbol.for("memraft.error");

export type MemraftErrorCode =
  | "ERR_CONFIG"
  | "ERR_CORRUPTION"
  | "ERR_IO"
  | "ERR_QUEUE_FULL"
  | "ERR_NOT_LEADER"
  | "ERR_TIMEOUT"
  | "ERR_UNAVAILABLE"
  | "ERR_CLOSED";

export interface ErrorContext {
  readonly [field: string]: string | number | bigint | boolean | undefined;
}

export class MemraftError extends Error {
  readonly [brand] = true;
  readonly code: MemraftErrorCode;
  readonly context: ErrorContext;

  constructor(
    code: MemraftErrorCode,
    message: string,
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MemraftError";
    this.code = code;
    this.context = context;
  }

  static is(value: unknown, code?: MemraftErrorCode): value is MemraftError {
    if (typeof value !== "object" || value === null || !(brand in value)) return false;
    return code === undefined || (value as MemraftError).code === code;
  }
}

/** A configuration value that cannot work; reported before anything starts. */
export class ConfigError extends MemraftError {
  constructor(message: string, context: ErrorContext = {}) {
    super("ERR_CONFIG", message, context);
    this.name = "ConfigError";
  }
}
