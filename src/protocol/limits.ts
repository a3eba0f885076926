// Protocol limits, memcached 1.6.18's values unless a comment says otherwise.
// Units are last in every name. Checked against each other at load time.

import { assert } from "../util/assert.js";

/** Longest key, in bytes (KEY_MAX_LENGTH). Meta base64 keys are checked encoded. */
export const keyBytesMax = 250;

/**
 * A command line still without its newline after this many bytes closes the
 * connection, unless it is a `get`/`gets` (memcached's try_read_command_ascii).
 */
export const lineBytesMax = 2048;

/**
 * memcached reads into a 16 KiB buffer, so a non-get line can never be longer
 * than this even when its newline arrives with it.
 */
export const readBufferBytes = 16384;

/** Leading spaces allowed before `get ` when a long multiget line is detected. */
export const multigetLeadingSpacesMax = 100;

/**
 * memcached lets a multiget line grow without limit. We bound it so that one
 * client cannot make us buffer without end; 8192 keys of 250 bytes fit.
 */
export const getLineBytesMax = 2 * 1024 * 1024;

/** Tokens split per pass, the terminal token included (MAX_TOKENS). */
export const tokensMax = 24;

/** Meta commands: command, key, flags and terminal token together (MFLAG_MAX_OPT_LENGTH). */
export const metaTokensMax = 20;

/** Meta opaque token, the leading `O` included (MFLAG_MAX_OPAQUE_LENGTH). */
export const metaOpaqueBytesMax = 32;

/** Highest `verbosity` level; higher requests are clamped (MAX_VERBOSITY_LEVEL). */
export const verbosityMax = 2;

/** exptime values up to this many seconds are relative; above, absolute unix time. */
export const relativeExptimeSecondsMax = 60 * 60 * 24 * 30;

/**
 * Per-item overhead memcached counts against the item size limit: a 48-byte
 * header, an 8-byte cas, the key's terminating NUL and the value's CRLF.
 * Client flags other than 0 take 4 more bytes.
 */
export const itemHeaderBytes = 48 + 8 + 1 + 2;
export const itemFlagsBytes = 4;

/** `-I` bounds, as memcached enforces them at startup. */
export const itemSizeMinBytes = 1024;
export const itemSizeMaxBytes = 1024 * 1024 * 1024;
export const itemSizeDefaultBytes = 1024 * 1024;

assert(lineBytesMax < readBufferBytes);
assert(readBufferBytes < getLineBytesMax);
assert(metaTokensMax < tokensMax);
assert(keyBytesMax + 64 < lineBytesMax);

/** Bytes an item occupies for memcached's size limit and `bytes` stat. */
export function itemTotalBytes(keyBytes: number, valueBytes: number, flags: number): number {
  return itemHeaderBytes + keyBytes + valueBytes + (flags === 0 ? 0 : itemFlagsBytes);
}

/** memraft's own: the largest cluster file `cluster apply` takes. */
export const clusterFileBytesMax = 1024 * 1024;
