// Server counters and the `stats` reports, with memcached 1.6.18's field
// names and order so that memcstat, memcached-tool, pymemcache and the
// Prometheus memcached_exporter read them unchanged. Fields that mean nothing
// here (slab rebalancing, extstore, LRU segments) read 0, as memcached's
// own do when the feature is idle.

import type { StoreStats } from "../store/store.js";
import type { ServerSettings } from "./settings.js";

/** Counters the server keeps; each is a memcached stat of the same meaning. */
export class ServerCounters {
  totalConnections = 0;
  rejectedConnections = 0;
  cmdGet = 0;
  cmdSet = 0;
  cmdFlush = 0;
  cmdTouch = 0;
  cmdMeta = 0;
  getHits = 0;
  getMisses = 0;
  deleteHits = 0;
  deleteMisses = 0;
  incrHits = 0;
  incrMisses = 0;
  decrHits = 0;
  decrMisses = 0;
  casHits = 0;
  casMisses = 0;
  casBadval = 0;
  touchHits = 0;
  touchMisses = 0;
  storeTooLarge = 0;
  bytesRead = 0;
  bytesWritten = 0;
  connYields = 0;

  /** `stats reset`: memcached zeroes these and keeps the connection gauges. */
  reset(): void {
    const keep = this.totalConnections;
    Object.assign(this, new ServerCounters());
    this.totalConnections = keep;
  }
}

/** What a report needs to know besides the counters. */
export interface StatsContext {
  readonly counters: ServerCounters;
  readonly store: StoreStats;
  readonly settings: ServerSettings;
  readonly startedAtSeconds: number;
  readonly nowSeconds: number;
  readonly currentConnections: number;
  readonly listenerCount: number;
  readonly acceptingConnections: boolean;
  readonly verbosity: number;
  readonly detailEnabled: boolean;
  readonly memraftVersion: string;
}

export type StatLine = readonly [name: string, value: string | number];

function rusage(micros: number): string {
  const seconds = Math.floor(micros / 1e6);
  return `${seconds}.${String(micros % 1e6).padStart(6, "0")}`;
}

export function generalStats(context: StatsContext): StatLine[] {
  const c = context.counters;
  const s = context.store;
  const usage = process.resourceUsage();
  return [
    ["pid", process.pid],
    ["uptime", context.nowSeconds - context.startedAtSeconds],
    ["time", context.nowSeconds],
    ["version", context.settings.protocolVersion],
    ["libevent", `node-${process.versions.node}`],
    ["pointer_size", 64],
    ["rusage_user", rusage(usage.userCPUTime)],
    ["rusage_system", rusage(usage.systemCPUTime)],
    ["max_connections", context.settings.maxConnections],
    ["curr_connections", context.currentConnections],
    ["total_connections", c.totalConnections + context.listenerCount],
    ["rejected_connections", c.rejectedConnections],
    ["connection_structures", context.currentConnections + context.listenerCount],
    ["response_obj_oom", 0],
    ["response_obj_count", 0],
    ["response_obj_bytes", 0],
    ["read_buf_count", 0],
    ["read_buf_bytes", 0],
    ["read_buf_bytes_free", 0],
    ["read_buf_oom", 0],
    ["reserved_fds", 0],
    ["cmd_get", c.cmdGet],
    ["cmd_set", c.cmdSet],
    ["cmd_flush", c.cmdFlush],
    ["cmd_touch", c.cmdTouch],
    ["cmd_meta", c.cmdMeta],
    ["get_hits", c.getHits],
    ["get_misses", c.getMisses],
    ["get_expired", s.getExpired],
    ["get_flushed", s.getFlushed],
    ["delete_misses", c.deleteMisses],
    ["delete_hits", c.deleteHits],
    ["incr_misses", c.incrMisses],
    ["incr_hits", c.incrHits],
    ["decr_misses", c.decrMisses],
    ["decr_hits", c.decrHits],
    ["cas_misses", c.casMisses],
    ["cas_hits", c.casHits],
    ["cas_badval", c.casBadval],
    ["touch_hits", c.touchHits],
    ["touch_misses", c.touchMisses],
    ["store_too_large", c.storeTooLarge],
    ["store_no_memory", s.storeNoMemory],
    ["auth_cmds", 0],
    ["auth_errors", 0],
    ["bytes_read", c.bytesRead],
    ["bytes_written", c.bytesWritten],
    ["limit_maxbytes", s.limitMaxbytes],
    ["accepting_conns", context.acceptingConnections ? 1 : 0],
    ["listen_disabled_num", 0],
    ["time_in_listen_disabled_us", 0],
    ["threads", 1],
    ["conn_yields", c.connYields],
    ["hash_power_level", 0],
    ["hash_bytes", 0],
    ["hash_is_expanding", 0],
    ["slab_reassign_rescues", 0],
    ["slab_reassign_chunk_rescues", 0],
    ["slab_reassign_evictions_nomem", 0],
    ["slab_reassign_inline_reclaim", 0],
    ["slab_reassign_busy_items", 0],
    ["slab_reassign_busy_deletes", 0],
    ["slab_reassign_running", 0],
    ["slabs_moved", 0],
    ["lru_crawler_running", 0],
    ["lru_crawler_starts", 0],
    ["lru_maintainer_juggles", 0],
    ["malloc_fails", 0],
    ["log_worker_dropped", 0],
    ["log_worker_written", 0],
    ["log_watcher_skipped", 0],
    ["log_watcher_sent", 0],
    ["log_watchers", 0],
    ["unexpected_napi_ids", 0],
    ["round_robin_fallback", 0],
    ["bytes", s.bytes],
    ["curr_items", s.currItems],
    ["total_items", s.totalItems],
    ["slab_global_page_pool", 0],
    ["expired_unfetched", s.expiredUnfetched],
    ["evicted_unfetched", 0],
    ["evicted_active", 0],
    ["evictions", 0],
    ["reclaimed", s.reclaimed],
    ["crawler_reclaimed", 0],
    ["crawler_items_checked", 0],
    ["lrutail_reflocked", 0],
    ["moves_to_cold", 0],
    ["moves_to_warm", 0],
    ["moves_within_lru", 0],
    ["direct_reclaims", 0],
    ["lru_bumps_dropped", 0],
    ["memraft_version", context.memraftVersion],
  ];
}

export function settingsStats(context: StatsContext): StatLine[] {
  const settings = context.settings;
  return [
    ["maxbytes", context.store.limitMaxbytes],
    ["maxconns", settings.maxConnections],
    ["tcpport", settings.port],
    ["udpport", 0],
    ["inter", settings.host],
    ["verbosity", context.verbosity],
    ["oldest", 0],
    // memraft never evicts: a full memory budget fails writes instead.
    ["evictions", "off"],
    ["domain_socket", "NULL"],
    ["umask", 700],
    ["shutdown_command", settings.shutdownEnabled ? "yes" : "no"],
    ["growth_factor", "1.25"],
    ["chunk_size", 48],
    ["num_threads", 1],
    ["num_threads_per_udp", 1],
    ["stat_key_prefix", ":"],
    ["detail_enabled", context.detailEnabled ? "yes" : "no"],
    ["reqs_per_event", 20],
    ["cas_enabled", "yes"],
    ["tcp_backlog", 1024],
    ["binding_protocol", "ascii"],
    ["auth_enabled_sasl", "no"],
    ["auth_enabled_ascii", "no"],
    ["item_size_max", settings.itemSizeMaxBytes],
    ["maxconns_fast", "yes"],
    ["hashpower_init", 0],
    ["slab_reassign", "no"],
    ["slab_automove", 0],
    ["slab_chunk_max", settings.itemSizeMaxBytes],
    ["lru_crawler", "no"],
    ["lru_crawler_sleep", 100],
    ["lru_crawler_tocrawl", 0],
    ["tail_repair_time", 0],
    ["flush_enabled", settings.flushEnabled ? "yes" : "no"],
    ["dump_enabled", "yes"],
    ["hash_algorithm", "none"],
    ["lru_maintainer_thread", "no"],
    ["lru_segmented", "no"],
    ["hot_lru_pct", 20],
    ["warm_lru_pct", 40],
    ["hot_max_factor", "0.20"],
    ["warm_max_factor", "2.00"],
    ["temp_lru", "no"],
    ["temporary_ttl", 61],
    ["idle_timeout", 0],
    ["track_sizes", "no"],
    ["inline_ascii_response", "no"],
    ["client_flags_size", 4],
  ];
}

/** One synthetic slab class holds every item; an empty cache reports nothing. */
export function itemsStats(context: StatsContext): StatLine[] {
  const s = context.store;
  if (s.currItems === 0) return [];
  const prefix = "items:1:";
  const fields: StatLine[] = [
    ["number", s.currItems],
    ["number_hot", 0],
    ["number_warm", 0],
    ["number_cold", s.currItems],
    ["age_hot", 0],
    ["age_warm", 0],
    ["age", s.oldestItemAgeSeconds],
    ["mem_requested", s.bytes],
    ["evicted", 0],
    ["evicted_nonzero", 0],
    ["evicted_time", 0],
    ["outofmemory", s.storeNoMemory],
    ["tailrepairs", 0],
    ["reclaimed", s.reclaimed],
    ["expired_unfetched", s.expiredUnfetched],
    ["evicted_unfetched", 0],
    ["evicted_active", 0],
    ["crawler_reclaimed", 0],
    ["crawler_items_checked", 0],
    ["lrutail_reflocked", 0],
    ["moves_to_cold", 0],
    ["moves_to_warm", 0],
    ["moves_within_lru", 0],
    ["direct_reclaims", 0],
    ["hits_to_hot", 0],
    ["hits_to_warm", 0],
    ["hits_to_cold", context.counters.getHits],
    ["hits_to_temp", 0],
  ];
  return fields.map(([name, value]) => [prefix + name, value]);
}

export function slabsStats(context: StatsContext): StatLine[] {
  const s = context.store;
  const c = context.counters;
  if (s.currItems === 0) {
    return [
      ["active_slabs", 0],
      ["total_malloced", 0],
    ];
  }
  const prefix = "1:";
  const fields: StatLine[] = [
    ["chunk_size", context.settings.itemSizeMaxBytes],
    ["chunks_per_page", 1],
    ["total_pages", s.currItems],
    ["total_chunks", s.currItems],
    ["used_chunks", s.currItems],
    ["free_chunks", 0],
    ["free_chunks_end", 0],
    ["get_hits", c.getHits],
    ["cmd_set", c.cmdSet],
    ["delete_hits", c.deleteHits],
    ["incr_hits", c.incrHits],
    ["decr_hits", c.decrHits],
    ["cas_hits", c.casHits],
    ["cas_badval", c.casBadval],
    ["touch_hits", c.touchHits],
  ];
  return [
    ...fields.map(([name, value]): StatLine => [prefix + name, value]),
    ["active_slabs", 1],
    ["total_malloced", s.bytes],
  ];
}
