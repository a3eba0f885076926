// `stats detail`: per key-prefix counters, prefixes ending at the first ':'
// (memcached's stats_prefix.c). Keys without ':' are not counted, as there.
// The number of prefixes is bounded so that a client inventing prefixes
// cannot grow this table without end; past the bound, new prefixes are not
// counted.

import { detailPrefixCountMax } from "./limits.js";

const delimiter = ":";

interface PrefixCounters {
  gets: number;
  hits: number;
  sets: number;
  deletes: number;
}

export class DetailStats {
  enabled = false;
  private readonly prefixes = new Map<string, PrefixCounters>();

  recordGet(key: string, hit: boolean): void {
    const counters = this.find(key);
    if (counters === undefined) return;
    counters.gets++;
    if (hit) counters.hits++;
  }

  recordSet(key: string): void {
    const counters = this.find(key);
    if (counters !== undefined) counters.sets++;
  }

  recordDelete(key: string): void {
    const counters = this.find(key);
    if (counters !== undefined) counters.deletes++;
  }

  /** memcached's dump lines, without the final END. */
  dumpLines(): string[] {
    const lines: string[] = [];
    for (const [prefix, c] of this.prefixes) {
      lines.push(`PREFIX ${prefix} get ${c.gets} hit ${c.hits} set ${c.sets} del ${c.deletes}`);
    }
    return lines;
  }

  clear(): void {
    this.prefixes.clear();
  }

  private find(key: string): PrefixCounters | undefined {
    if (!this.enabled) return undefined;
    const end = key.indexOf(delimiter);
    if (end === -1) return undefined;
    const prefix = key.slice(0, end);
    let counters = this.prefixes.get(prefix);
    if (counters === undefined) {
      if (this.prefixes.size >= detailPrefixCountMax) return undefined;
      counters = { gets: 0, hits: 0, sets: 0, deletes: 0 };
      this.prefixes.set(prefix, counters);
    }
    return counters;
  }
}
