// Hybrid logical clock (Kulkarni et al.): timestamps follow the wall clock when it moves forward
// and a counter when it does not, so versions are strictly increasing on a node even when its
// clock steps backwards, and never run behind any version the node has observed.

import { compareVersions, type Version } from './version.js';

/** The counter grows only within one millisecond; past this many writes in one ms we borrow the next ms. */
export const HLC_COUNTER_MAX = 0xffff_ffff;

export type WallClock = () => number;

export class HybridLogicalClock {
  private wallMs = 0;
  private counter = 0;

  constructor(
    private readonly node: string,
    private readonly wallClock: WallClock = Date.now,
  ) {}

  /** A fresh timestamp, strictly greater than every one issued or observed before. */
  now(): Version {
    const physicalMs = this.wallClock();
    if (physicalMs > this.wallMs) {
      this.wallMs = physicalMs;
      this.counter = 0;
    } else if (this.counter < HLC_COUNTER_MAX) {
      this.counter += 1;
    } else {
      this.wallMs += 1;
      this.counter = 0;
    }
    return { wallMs: this.wallMs, counter: this.counter, node: this.node };
  }

  /** Moves the clock past a version seen elsewhere (a stored record or a peer's write). */
  observe(seen: Version): void {
    if (compareVersions(seen, { wallMs: this.wallMs, counter: this.counter, node: this.node }) <= 0)
      return;
    this.wallMs = seen.wallMs;
    this.counter = seen.counter;
  }
}
