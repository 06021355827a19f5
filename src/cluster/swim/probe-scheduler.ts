// Which member to probe next: SWIM's round-robin over a randomly ordered list, reshuffled at the
// end of every pass. Round-robin bounds the time until a failed member is probed by anyone to
// one pass; the shuffle keeps members' passes out of step, so that on average someone probes a
// failed member within e/(e-1) periods, as with purely random choice.

import { randomIntBelow, shuffleInPlace, type Random } from './random.js';

export class ProbeScheduler {
  private order: string[] = [];
  private position = 0;

  constructor(private readonly random: Random) {}

  /**
   * A member that joined mid-pass goes to a random place in what is left of this pass (like
   * memberlist's random offset), so it is probed this pass without always being probed last.
   * `orderMax` bounds the pass.
   */
  add(name: string, orderMax: number): void {
    // Bounded even under churn (members evicted and added faster than we probe): the probed part
    // of the pass goes first, and past that a newcomer simply waits for the next pass.
    if (this.order.length >= orderMax) {
      this.order = this.order.slice(this.position);
      this.position = 0;
      if (this.order.length >= orderMax) return;
    }
    this.order.push(name);
    const last = this.order.length - 1;
    const span = last - this.position + 1;
    if (span <= 1) return;
    const j = this.position + randomIntBelow(this.random, span);
    const tmp = this.order[j] as string;
    this.order[j] = name;
    this.order[last] = tmp;
  }

  /**
   * The next name for which `probeable` holds, or undefined when none does. `allNames` is read
   * only at the end of a pass, to start the next one.
   */
  next(probeable: (name: string) => boolean, allNames: () => string[]): string | undefined {
    let reshuffled = false;
    for (;;) {
      while (this.position < this.order.length) {
        const name = this.order[this.position++] as string;
        if (probeable(name)) return name;
      }
      if (reshuffled) return undefined;
      this.order = allNames();
      shuffleInPlace(this.random, this.order);
      this.position = 0;
      reshuffled = true;
    }
  }
}
