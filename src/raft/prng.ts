// A small seeded pseudo-random generator (mulberry32). The core draws its
// election jitter from the one in its config, so a seed fixes a run. Not for
// anything that needs unpredictability.

export interface Random {
  /** A uniformly drawn integer in [0, bound). */
  int(bound: number): number;
}

export class Prng implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniformly drawn 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  int(bound: number): number {
    return Math.floor((this.nextUint32() / 0x1_0000_0000) * bound);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextUint32() / 0x1_0000_0000 < p;
  }
}
