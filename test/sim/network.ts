// The simulated network between nodes: per-datagram delay with jitter, uniform loss, duplication,
// and partitions (groups of nodes that cannot reach other groups). Streams (TCP) are reliable
// between nodes that can reach each other and fail after a timeout otherwise. All randomness comes
// from the seeded generator handed in.

import { randomIntBelow, type Random } from '../../src/cluster/swim/random.js';

export interface NetworkOptions {
  /** One-way datagram delay before jitter, ms. */
  delayMs: number;
  /** Extra one-way delay, uniform in [0, jitterMs), ms. */
  jitterMs: number;
  /** Probability a datagram is lost, 0..1. */
  loss: number;
  /** Probability a delivered datagram arrives twice, 0..1. */
  duplicate: number;
  /** Time until a stream to an unreachable or dead peer fails (memberlist's TCPTimeout), ms. */
  streamTimeoutMs: number;
}

export const DEFAULT_NETWORK: Readonly<NetworkOptions> = Object.freeze({
  delayMs: 1,
  jitterMs: 1,
  loss: 0,
  duplicate: 0,
  streamTimeoutMs: 10_000,
});

export class SimNetwork {
  readonly options: NetworkOptions;
  private groupOf = new Map<string, number>();

  constructor(
    private readonly random: Random,
    options: Partial<NetworkOptions> = {},
  ) {
    this.options = { ...DEFAULT_NETWORK, ...options };
  }

  /**
   * Splits the network: a node in one group reaches only nodes of the same group. Nodes named in
   * no group form one more group together.
   */
  partition(groups: readonly (readonly string[])[]): void {
    this.groupOf = new Map();
    groups.forEach((group, i) => {
      for (const name of group) this.groupOf.set(name, i);
    });
  }

  heal(): void {
    this.groupOf = new Map();
  }

  /** Changes the loss rate from now on (e.g. a cluster formed on a clean network, then degraded). */
  setLoss(loss: number): void {
    this.options.loss = loss;
  }

  canReach(from: string, to: string): boolean {
    return this.groupOf.get(from) === this.groupOf.get(to);
  }

  /** One-way delay of one datagram or stream segment, ms. */
  delay(): number {
    return this.options.delayMs + this.random.next() * this.options.jitterMs;
  }

  /** Arrival delays of one datagram: none when lost, two when duplicated. */
  datagramDelays(): number[] {
    if (this.options.loss > 0 && this.random.next() < this.options.loss) return [];
    const delays = [this.delay()];
    if (this.options.duplicate > 0 && this.random.next() < this.options.duplicate) {
      delays.push(this.delay());
    }
    return delays;
  }

  /** A random index below n, from the network's own stream (for picking victims in tests). */
  pick(n: number): number {
    return randomIntBelow(this.random, n);
  }
}
