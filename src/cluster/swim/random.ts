// The only source of randomness the SWIM core uses: handed in, so that a simulation with a fixed
// seed replays exactly, and production can seed it from the operating system. Probe order, the
// members chosen for indirect probes, gossip and push-pull all draw from it; none of it needs to
// be unpredictable to an attacker, only well spread.

/** A stream of uniformly distributed numbers. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

const U32_RANGE = 0x1_0000_0000;

/**
 * sfc32 (Chris Doty-Humphrey's small fast counter generator): 128 bits of state, passes
 * PractRand, and is a handful of 32-bit operations per number, which matters when a simulation
 * draws millions of them. Seeded through splitmix32 so that nearby seeds give unrelated streams.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    // The first outputs of a fresh sfc32 are correlated with the seed; discard them.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.nextUint32() / U32_RANGE;
  }
}

/** An integer in [0, n). `n` must be a positive integer. */
export function randomIntBelow(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T>(random: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomIntBelow(random, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
}

/**
 * Up to `k` distinct items that `accept` admits, chosen at random. Like memberlist's
 * kRandomNodes it first draws random positions (at most 3n draws), so that picking 3 gossip
 * targets among 1,000 members costs a few draws rather than 1,000 calls; unlike it, when the
 * draws come up short (a small list, or few acceptable items) it finishes with a scan from a
 * random position, so it returns min(k, acceptable items) whenever that many exist.
 */
export function sampleWhere<T>(
  random: Random,
  items: readonly T[],
  k: number,
  accept: (item: T) => boolean,
): T[] {
  const chosen: T[] = [];
  const n = items.length;
  if (k <= 0 || n === 0) return chosen;
  for (let draws = 0; draws < 3 * n && chosen.length < k; draws++) {
    const item = items[randomIntBelow(random, n)] as T;
    if (!accept(item) || chosen.includes(item)) continue;
    chosen.push(item);
  }
  const start = randomIntBelow(random, n);
  for (let i = 0; i < n && chosen.length < k; i++) {
    const item = items[(start + i) % n] as T;
    if (!accept(item) || chosen.includes(item)) continue;
    chosen.push(item);
  }
  return chosen;
}
