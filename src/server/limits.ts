// Limits of the client-facing server, units last. Every buffer and table a
// client can make grow is bounded by one of these.

import { assert } from "../util/assert.js";

/** Reply bytes gathered in one batch before they are written out. */
export const outputFlushBytes = 256 * 1024;

/** Input buffered while a command waits on the store, before the socket pauses. */
export const inputPauseBytes = 1024 * 1024;

/** Connections still open this long after a graceful shutdown began are cut. */
export const shutdownGraceMs = 5000;

/** Distinct key prefixes `stats detail` counts; later ones are not counted. */
export const detailPrefixCountMax = 10_000;

assert(outputFlushBytes < inputPauseBytes);
