// The commands a text-protocol client can send, as the parser hands them out.
// Keys are latin1 strings: one char per byte, so any byte sequence round-trips.
// Values are Buffers owned by the command (copied out of the read buffer).
// exptime fields carry the client's raw signed 32-bit number; turning it into
// an absolute time is the store's job, because under Raft it must happen with
// the leader's timestamp.

export type StorageMode = "set" | "add" | "replace" | "append" | "prepend" | "cas";

export interface RetrievalCommand {
  readonly kind: "get";
  readonly keys: readonly string[];
  /** gets/gats: print the cas unique. */
  readonly returnCas: boolean;
  /** gat/gats: the new exptime; undefined for get/gets. */
  readonly touchExptime: number | undefined;
}

export interface StorageCommand {
  readonly kind: "store";
  readonly mode: StorageMode;
  readonly key: string;
  readonly flags: number;
  readonly exptime: number;
  readonly value: Buffer;
  /** The cas unique to compare against; 0n when none was given. */
  readonly cas: bigint;
  readonly noreply: boolean;
  /**
   * The item would exceed the item size limit. Its data block was read and
   * dropped; for `set` the old value is removed, as memcached does.
   */
  readonly tooLarge: boolean;
}

export interface DeleteCommand {
  readonly kind: "delete";
  readonly key: string;
  readonly noreply: boolean;
}

export interface ArithmeticCommand {
  readonly kind: "arithmetic";
  readonly key: string;
  readonly incr: boolean;
  readonly delta: bigint;
  readonly noreply: boolean;
}

export interface TouchCommand {
  readonly kind: "touch";
  readonly key: string;
  readonly exptime: number;
  readonly noreply: boolean;
}

export interface FlushAllCommand {
  readonly kind: "flush_all";
  /** Seconds (or absolute time) until the flush takes effect; 0 or less is now. */
  readonly delay: number;
  readonly noreply: boolean;
}

export interface VerbosityCommand {
  readonly kind: "verbosity";
  readonly level: number;
  readonly noreply: boolean;
}

export interface CacheMemlimitCommand {
  readonly kind: "cache_memlimit";
  readonly megabytes: number;
  readonly noreply: boolean;
}

export type StatsGroup =
  | "general"
  | "settings"
  | "items"
  | "slabs"
  | "sizes"
  | "conns"
  | "reset"
  | "detail on"
  | "detail off"
  | "detail dump";

export interface StatsCommand {
  readonly kind: "stats";
  readonly group: StatsGroup;
}

export interface StatsCachedumpCommand {
  readonly kind: "stats_cachedump";
  readonly slabClass: number;
  readonly limit: number;
}

export interface ShutdownCommand {
  readonly kind: "shutdown";
  /** "invalid" is answered only when shutdown is enabled, as in memcached. */
  readonly mode: "immediate" | "graceful" | "invalid";
}

export interface SimpleCommand {
  readonly kind: "version" | "quit" | "mn";
}

export interface MetadumpCommand {
  readonly kind: "lru_crawler_metadump";
}

/**
 * memraft's own cluster administration, which memcached does not have (it
 * answers ERROR): `cluster status`, and `cluster apply <bytes>` followed by
 * a data block holding a cluster file.
 */
export type ClusterCommand =
  | { readonly kind: "cluster_status" }
  | { readonly kind: "cluster_apply"; readonly file: Buffer };

/** A fixed reply line (OK, an error) for commands with no effect beyond it. */
export interface ReplyLineCommand {
  readonly kind: "reply";
  readonly line: string;
  /** Classic noreply: the line is not sent. Meta errors are always sent. */
  readonly noreply: boolean;
  /**
   * memcached drops the replies it has not sent yet before this one (a
   * multiget with a too-long key discards the whole stacked response).
   */
  readonly discardUnsent?: boolean;
}

// ---- meta commands ----------------------------------------------------------

/**
 * Meta flags that print something, in request order, as their letters. The
 * reply repeats them in the same order (memcached 1.6), so order is kept.
 */
export type MetaReturnFlags = string;

export interface MetaCommon {
  readonly key: string;
  /** The key arrived base64-encoded (`b`); echo it the same way. */
  readonly keyBinary: boolean;
  /** `q`: suppress the nominal reply (EN for mg, HD for ms/md/ma). */
  readonly quiet: boolean;
  /** `O<opaque>`, the O included, or "" when absent. */
  readonly opaque: string;
  /** The flags with output, in request order: any of `b c f h k l O s t v`. */
  readonly returnFlags: MetaReturnFlags;
}

export interface MetaGetCommand extends MetaCommon {
  readonly kind: "mg";
  readonly returnValue: boolean;
  /** `u`: do not bump the item (no access time or fetched update). */
  readonly noBump: boolean;
  /** `T<ttl>`: new exptime, or undefined. */
  readonly touchExptime: number | undefined;
  /** `N<ttl>`: on a miss, create an empty item with this exptime and win. */
  readonly vivifyExptime: number | undefined;
  /** `R<ttl>`: win the recache right if the item's TTL is below this. */
  readonly recacheExptime: number | undefined;
  /** Order of T, N, R and t as given; they act in this order. */
  readonly effectOrder: string;
}

export interface MetaSetCommand extends MetaCommon {
  readonly kind: "ms";
  /** The M mode; set and replace with a `C` flag become "cas", as in memcached. */
  readonly mode: StorageMode;
  readonly value: Buffer;
  readonly flags: number;
  readonly exptime: number;
  /** `C<cas>`, or 0n when absent. */
  readonly cas: bigint;
  /** `I`: with C, a lower cas stores the value as stale instead of failing. */
  readonly invalidate: boolean;
  readonly tooLarge: boolean;
}

export interface MetaDeleteCommand extends MetaCommon {
  readonly kind: "md";
  /** `C<cas>`, or undefined when absent (C0 compares against 0). */
  readonly cas: bigint | undefined;
  /** `I`: mark stale with a new cas instead of deleting. */
  readonly invalidate: boolean;
  /** `T<ttl>`: with I, the new exptime. */
  readonly touchExptime: number | undefined;
}

export interface MetaArithmeticCommand extends MetaCommon {
  readonly kind: "ma";
  readonly incr: boolean;
  readonly delta: bigint;
  readonly initial: bigint;
  /** `C<cas>`; 0n (absent or C0) checks nothing, as in memcached. */
  readonly cas: bigint;
  readonly returnValue: boolean;
  readonly touchExptime: number | undefined;
  readonly vivifyExptime: number | undefined;
  /** The letters t, T and N in request order; they act in that order. */
  readonly effectOrder: string;
}

export interface MetaDebugCommand {
  readonly kind: "me";
  readonly key: string;
  readonly keyBinary: boolean;
}

export type Command =
  | RetrievalCommand
  | StorageCommand
  | DeleteCommand
  | ArithmeticCommand
  | TouchCommand
  | FlushAllCommand
  | VerbosityCommand
  | CacheMemlimitCommand
  | StatsCommand
  | StatsCachedumpCommand
  | ShutdownCommand
  | SimpleCommand
  | MetadumpCommand
  | ClusterCommand
  | ReplyLineCommand
  | MetaGetCommand
  | MetaSetCommand
  | MetaDeleteCommand
  | MetaArithmeticCommand
  | MetaDebugCommand;
