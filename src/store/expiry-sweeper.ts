// Purges expired records in the background. Readers already treat expired records as absent,
// so the sweep only reclaims space; it works in bounded batches to never stall the event loop.

import type { Store } from './store.js';

export const EXPIRY_SWEEP_INTERVAL_MS = 1_000;
export const EXPIRY_SWEEP_BATCH_MAX = 1_000;

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown) => void,
    private readonly wallClock: () => number = Date.now,
  ) {}

  start(): void {
    this.schedule(EXPIRY_SWEEP_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sweep();
    }, delayMs);
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    let purged = 0;
    try {
      if (this.store.isOpen)
        purged = await this.store.purgeExpired(this.wallClock(), EXPIRY_SWEEP_BATCH_MAX);
    } catch (err) {
      this.onError(err);
    }
    // A full batch means more are due: continue at once rather than a second later.
    if (this.timer !== undefined)
      this.schedule(purged >= EXPIRY_SWEEP_BATCH_MAX ? 0 : EXPIRY_SWEEP_INTERVAL_MS);
  }
}
