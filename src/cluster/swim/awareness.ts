// Lifeguard's local health awareness. A member that misses acks and nacks it should have had is
// more likely slow or cut off itself than surrounded by failures; raising its score makes it probe
// more slowly and wait longer, so its own trouble does not turn into false accusations.

export class Awareness {
  private score = 0;

  /** `maxMultiplier`: the score runs 0 .. maxMultiplier - 1 (memberlist's AwarenessMaxMultiplier). */
  constructor(private readonly maxMultiplier: number) {}

  /** 0 is healthy; higher is worse. */
  get healthScore(): number {
    return this.score;
  }

  /** What probe interval and timeout are multiplied by: score + 1. */
  get multiplier(): number {
    return this.score + 1;
  }

  /** Adds `delta`, clamped to 0 .. maxMultiplier - 1. Returns whether the score changed. */
  applyDelta(delta: number): boolean {
    const before = this.score;
    this.score = Math.min(this.maxMultiplier - 1, Math.max(0, this.score + delta));
    return this.score !== before;
  }

  scaleMs(timeoutMs: number): number {
    return timeoutMs * this.multiplier;
  }
}
