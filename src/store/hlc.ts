// Hybrid logical clock (Kulkarni et al.): timestamps follow the wall clock when it moves forward
// and a counter when it does not, so versions are strictly increasing on a node even when its
// clock steps backwards, and never run behind any version the node has observed.
//
// Observing moves the clock only up to CLOCK_LEAD_MAX_MS ahead of the wall clock. Without that
// bound one node whose clock ran far ahead would carry, through every key it wrote, the versions
// of all the others there for good (CockroachDB bounds its HLC by a maximum offset for the same
// reason). A write over such a key is still placed above it, for that key alone.

import { compareVersions, type Version } from './version.js';

/** The counter grows only within one millisecond; past this many writes in one ms we borrow the next ms. */
export const HLC_COUNTER_MAX = 0xffff_ffff;

/**
 * How far ahead of the wall clock a version seen elsewhere may carry this clock: far beyond the
 * skew between clocks kept by NTP, and short enough that a runaway clock is not followed.
 */
export const CLOCK_LEAD_MAX_MS = 5_000;

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

  /**
   * A fresh timestamp above `seen` too (the version a key holds). When `seen` is within the lead
   * bound the clock moves past it; beyond, the answer sits just above it and the clock stays.
   */
  nowAfter(seen: Version | undefined): Version {
    if (seen === undefined) return this.now();
    if (seen.wallMs - this.wallClock() <= CLOCK_LEAD_MAX_MS) this.observe(seen);
    const next = this.now();
    if (compareVersions(next, seen) > 0) return next;
    return seen.counter < HLC_COUNTER_MAX
      ? { wallMs: seen.wallMs, counter: seen.counter + 1, node: this.node }
      : { wallMs: seen.wallMs + 1, counter: 0, node: this.node };
  }

  private observe(seen: Version): void {
    if (compareVersions(seen, { wallMs: this.wallMs, counter: this.counter, node: this.node }) <= 0)
      return;
    this.wallMs = seen.wallMs;
    this.counter = seen.counter;
  }
}
