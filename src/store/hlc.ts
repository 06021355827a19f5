// Hybrid logical clock (Kulkarni et al.): timestamps follow the wall clock when it moves forward
// and a counter when it does not, so versions are strictly increasing on a node even when its
// clock steps backwards, and never run behind any version the node has observed.
//
// Observing moves the clock only up to CLOCK_LEAD_MAX_MS ahead of the wall clock. Without that
// bound one node whose clock ran far ahead would carry, through every key it wrote, the versions
// of all the others there for good (CockroachDB bounds its HLC by a maximum offset for the same
// reason). A write over such a key is still placed above it, for that key alone.

import type { Version } from './version.js';

/** The counter grows only within one millisecond; past this many writes in one ms we borrow the next ms. */
export const HLC_COUNTER_MAX = 0xffff_ffff;

/**
 * How far ahead of the wall clock a version seen elsewhere may carry this clock: far beyond the
 * skew between clocks kept by NTP, and short enough that a runaway clock is not followed.
 */
export const CLOCK_LEAD_MAX_MS = 5_000;

export type WallClock = () => number;

/** How far ahead of what it hands out a clock reserves timestamps (see ClockReservation). */
export const CLOCK_RESERVATION_MS = 1_000;

/**
 * Where a clock keeps, durably, a bound on the timestamps it may have handed out. A node that
 * restarts starts at that bound, so it never hands out a version twice, even when its wall clock
 * is behind where it was (another machine, an NTP step): a replica holding the first write under
 * that version would take the second for it, answer success and keep the old value.
 */
export interface ClockReservation {
  /** The bound an earlier run kept, if any. */
  readonly reservedUntilMs: number | undefined;
  /** Keeps the bound durably before it returns; at most once per CLOCK_RESERVATION_MS. */
  reserve(untilMs: number): void;
}

/** A point of the clock: wall milliseconds, then a counter within the millisecond. */
interface Timestamp {
  wallMs: number;
  counter: number;
}

function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.wallMs - b.wallMs || a.counter - b.counter;
}

/** The next timestamp after `t`: the counter, or the next millisecond when it is full. */
function after(t: Timestamp): Timestamp {
  return t.counter < HLC_COUNTER_MAX
    ? { wallMs: t.wallMs, counter: t.counter + 1 }
    : { wallMs: t.wallMs + 1, counter: 0 };
}

/** Consecutive timestamps handed out above the lead bound. */
interface Run {
  first: Timestamp;
  last: Timestamp;
}

/**
 * Runs of such timestamps kept at most. Each stays until the clock passes it, which for a version
 * from a clock years ahead is years. Past this many, the two closest runs are joined: the
 * timestamps between them are then never handed out, and the clock may step over them all.
 */
const AHEAD_RUNS_MAX = 100_000;

export class HybridLogicalClock {
  /** The latest timestamp the clock issued or observed. */
  private current: Timestamp = { wallMs: 0, counter: 0 };
  /**
   * Timestamps handed out above the lead bound that the clock has not passed yet, as sorted runs
   * that neither overlap nor touch. The clock does not follow them, but it steps over them, and
   * a later answer above the bound avoids them too: no timestamp is handed out twice.
   */
  private readonly ahead: Run[] = [];
  /** Timestamps below this wall time are reserved; 0 without a reservation store. */
  private reservedUntilMs = 0;

  constructor(
    private readonly node: string,
    private readonly wallClock: WallClock = Date.now,
    private readonly aheadRunsMax = AHEAD_RUNS_MAX,
    private readonly reservation?: ClockReservation,
  ) {
    const earlier = reservation?.reservedUntilMs;
    if (earlier !== undefined) this.current = { wallMs: earlier, counter: 0 };
  }

  /** A fresh timestamp, strictly greater than every one the clock itself issued or observed. */
  now(): Version {
    const physicalMs = this.wallClock();
    let next: Timestamp =
      physicalMs > this.current.wallMs ? { wallMs: physicalMs, counter: 0 } : after(this.current);
    // Runs below `next` are behind the clock for good; one that holds `next` is stepped over.
    if (this.ahead.length > 0 && compareTimestamps((this.ahead[0] as Run).first, next) <= 0) {
      let passed = this.firstRunNotBefore(next);
      const holder = this.ahead[passed];
      if (holder !== undefined && compareTimestamps(holder.first, next) <= 0) {
        next = after(holder.last);
        passed++;
      }
      this.ahead.splice(0, passed);
    }
    if (this.reservation !== undefined && next.wallMs >= this.reservedUntilMs) {
      this.reservedUntilMs = next.wallMs + CLOCK_RESERVATION_MS;
      this.reservation.reserve(this.reservedUntilMs);
    }
    this.current = next;
    return { wallMs: next.wallMs, counter: next.counter, node: this.node };
  }

  /**
   * A fresh timestamp above `seen` too (the version a key holds). When `seen` is within the lead
   * bound the clock moves past it; beyond, the answer sits just above it (never on a timestamp
   * handed out before) while the clock stays where it is.
   */
  nowAfter(seen: Version | undefined): Version {
    if (seen === undefined) return this.now();
    if (seen.wallMs - this.wallClock() <= CLOCK_LEAD_MAX_MS) {
      this.observe(seen);
      return this.now();
    }
    const answer = this.handOutAhead(
      after(compareTimestamps(seen, this.current) > 0 ? seen : this.current),
    );
    return { wallMs: answer.wallMs, counter: answer.counter, node: this.node };
  }

  private observe(seen: Version): void {
    if (compareTimestamps(seen, this.current) > 0) {
      this.current = { wallMs: seen.wallMs, counter: seen.counter };
    }
  }

  /** Takes `wanted`, or the first timestamp after the run that holds it, and remembers it. */
  private handOutAhead(wanted: Timestamp): Timestamp {
    const runs = this.ahead;
    const i = this.firstRunNotBefore(wanted);
    const holder = runs[i];
    if (holder !== undefined && compareTimestamps(holder.first, wanted) <= 0) {
      // Runs never touch, so the timestamp after this run is free; the run grows by it.
      const next = after(holder.last);
      holder.last = next;
      this.mergeWithNext(i);
      return next;
    }
    const before = runs[i - 1];
    if (before !== undefined && compareTimestamps(after(before.last), wanted) === 0) {
      before.last = wanted;
      this.mergeWithNext(i - 1);
    } else {
      runs.splice(i, 0, { first: wanted, last: wanted });
      this.mergeWithNext(i);
      if (runs.length > this.aheadRunsMax) this.joinClosestRuns();
    }
    return wanted;
  }

  /** The index of the first run that does not end before `t` (the run count when none). */
  private firstRunNotBefore(t: Timestamp): number {
    let low = 0;
    let high = this.ahead.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareTimestamps((this.ahead[middle] as Run).last, t) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Joins the two runs with the smallest gap between them (see AHEAD_RUNS_MAX). */
  private joinClosestRuns(): void {
    const runs = this.ahead;
    let closest = 0;
    let closestGap: Timestamp | undefined;
    for (let i = 0; i + 1 < runs.length; i++) {
      const a = (runs[i] as Run).last;
      const b = (runs[i + 1] as Run).first;
      const gap = { wallMs: b.wallMs - a.wallMs, counter: b.counter - a.counter };
      if (closestGap === undefined || compareTimestamps(gap, closestGap) < 0) {
        closest = i;
        closestGap = gap;
      }
    }
    (runs[closest] as Run).last = (runs[closest + 1] as Run).last;
    runs.splice(closest + 1, 1);
  }

  /** Joins run i with the one after it when they now touch. */
  private mergeWithNext(i: number): void {
    const run = this.ahead[i] as Run;
    const next = this.ahead[i + 1];
    if (next !== undefined && compareTimestamps(after(run.last), next.first) === 0) {
      run.last = next.last;
      this.ahead.splice(i + 1, 1);
    }
  }
}
