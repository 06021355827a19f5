// Purges expired records in the background, once they expired longer ago than the tombstone
// grace period and the policy allows purges: until then an expired record stands for a delete,
// and its replicas need it (see tombstone-policy.ts). Readers treat expired records as absent at
// once, so the sweep only reclaims space; it works in bounded batches to never stall the event
// loop.

import { BackgroundLoop } from '../background-loop.js';
import type { Store } from './store.js';

export const EXPIRY_SWEEP_INTERVAL_MS = 1_000;
export const EXPIRY_SWEEP_BATCH_MAX = 1_000;

/** When records may be forgotten (replication's TombstonePolicy). */
export interface ForgetPolicy {
  readonly graceMs: number;
  nowMs(): number;
  purgesAllowed(): boolean;
}

export class ExpirySweeper {
  private readonly loop: BackgroundLoop;
  private stopping = false;

  constructor(
    private readonly store: Store,
    onError: (err: unknown) => void,
    private readonly policy: ForgetPolicy,
  ) {
    this.loop = new BackgroundLoop(EXPIRY_SWEEP_INTERVAL_MS, () => this.sweep(), onError);
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
  }

  private async sweep(): Promise<void> {
    // A full batch means more are due: go on at once rather than a second later.
    while (!this.stopping && this.store.isOpen && this.policy.purgesAllowed()) {
      const purged = await this.store.purgeExpired(
        this.policy.nowMs() - this.policy.graceMs,
        EXPIRY_SWEEP_BATCH_MAX,
      );
      if (purged < EXPIRY_SWEEP_BATCH_MAX) return;
    }
  }
}
