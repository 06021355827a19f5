// The suspicion timer of one suspect member (Lifeguard). It starts at the maximum timeout and is
// driven down toward the minimum by independent confirmations: a member suspected by several
// others is probably really down, while one suspected by a single (possibly unhealthy) member
// gets a long time to refute. Pure: time comes in, a deadline comes out.

/**
 * Timeout after `confirmations` of `expected` independent confirmations:
 * max(min, max - (max - min) * log(c + 1) / log(k + 1)), floored to whole milliseconds.
 */
export function suspicionTimeoutAfterMs(
  confirmations: number,
  expected: number,
  minMs: number,
  maxMs: number,
): number {
  // With no confirmations expected (tiny clusters) nothing shortens the timer.
  if (expected < 1) return maxMs;
  const fraction = Math.log(confirmations + 1) / Math.log(expected + 1);
  const raw = Math.floor(maxMs - fraction * (maxMs - minMs));
  return Math.max(minMs, raw);
}

export class Suspicion {
  private readonly confirmedBy = new Set<string>();
  private confirmations = 0;
  private deadline: number;

  /**
   * `from`: who raised the suspicion (never counted as a confirmation, since our own suspicion
   * gossiped back to us is not independent). `expected`: confirmations that drive the timer to
   * `minMs`.
   */
  constructor(
    from: string,
    readonly expected: number,
    readonly minMs: number,
    readonly maxMs: number,
    readonly startMs: number,
  ) {
    this.confirmedBy.add(from);
    this.deadline = startMs + maxMs;
  }

  /** When the suspect is declared dead unless it refutes first. */
  get deadlineMs(): number {
    return this.deadline;
  }

  get confirmationCount(): number {
    return this.confirmations;
  }

  /**
   * Counts `from` as an independent confirmation. Returns true when it was new (so the caller
   * re-gossips it and others can count it too); false for a repeat, or once enough are counted.
   * The set of names is bounded by `expected`.
   */
  confirm(from: string): boolean {
    if (this.confirmations >= this.expected) return false;
    if (this.confirmedBy.has(from)) return false;
    this.confirmedBy.add(from);
    this.confirmations++;
    this.deadline =
      this.startMs +
      suspicionTimeoutAfterMs(this.confirmations, this.expected, this.minMs, this.maxMs);
    return true;
  }
}
