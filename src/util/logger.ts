// Structured logs: JSON lines through pino. Subsystems take child loggers
// (`logger.child({ component: "server" })`) so that lines can be filtered.
// memcached's -v / -vv map to debug / trace.

import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(verbosity: number, destination?: NodeJS.WritableStream): Logger {
  const level = verbosity >= 2 ? "trace" : verbosity === 1 ? "debug" : "info";
  return pino({ level, base: { pid: process.pid } }, destination ?? process.stdout);
}

/** A logger that drops everything, for tests and embedding. */
export const silentLogger: Logger = pino({ level: "silent" });
