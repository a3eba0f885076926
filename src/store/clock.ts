// Wall-clock time in whole unix seconds, the unit of memcached's exptime.
// Injected so that tests can move time (memcached's debug builds have a
// `debugtime` command for the same purpose).

export interface Clock {
  nowSeconds(): number;
}

export const systemClock: Clock = {
  nowSeconds: () => Math.floor(Date.now() / 1000),
};

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private seconds: number) {}

  nowSeconds(): number {
    return this.seconds;
  }

  advance(seconds: number): void {
    this.seconds += seconds;
  }
}
