// Delivers hints: on a timer, every member that has hints waiting and is alive again gets them,
// a batch at a time, through the same batched apply a coordinator uses (last writer wins, so a hint
// that arrives after a newer write changes nothing). Hints for a member that left are dropped:
// it handed its data off, and the write is on the replicas that answered it. Hints older than
// the hint window (or the tombstone grace period, if shorter) are dropped when their member is
// back; anti-entropy repairs what they carried.
// Hints for a member this node does not know are kept for the hint window: right after a restart
// the member list is still filling in. Past it, the member was removed for good (DELETE
// /v1/cluster/members/NAME) and its hints go.

import { peerAddr, type ClusterView } from '../cluster/cluster-view.js';
import { HINT_WINDOW_MS, type Hint, type HintStore } from './hint-store.js';
import { BackgroundLoop } from '../background-loop.js';
import { PeerBatcher } from './peer-batcher.js';
import type { PeerCaller } from './peer-rpc.js';
import { toWire } from './wire-record.js';

export const HINT_DELIVERY_INTERVAL_MS = 1_000;
/** Hints sent to one member per round trip; they leave as one batch. */
export const HINT_BATCH_MAX = 256;
const DELIVERY_TIMEOUT_MS = 5_000;

export class HintedHandoff {
  private loop: BackgroundLoop | undefined;
  private onError: ((err: unknown) => void) | undefined;
  private readonly applies: PeerBatcher;

  constructor(
    private readonly hints: HintStore,
    private readonly cluster: ClusterView,
    rpc: PeerCaller,
    private readonly wallClock: () => number = Date.now,
    /**
     * How long a hint is worth delivering. Never beyond the tombstone grace period: once a
     * delete's tombstone may be purged, a hint carrying the write it replaced would bring that
     * write back (Cassandra caps its hint window by gc grace for the same reason).
     */
    private readonly windowMs: number = HINT_WINDOW_MS,
  ) {
    this.applies = new PeerBatcher(rpc, 'applyBatch', DELIVERY_TIMEOUT_MS);
  }

  /**
   * Delivers every HINT_DELIVERY_INTERVAL_MS. A round that fails, or a member that is alive yet
   * does not take its hints, goes to `onError`.
   */
  start(onError: (err: unknown) => void): void {
    this.onError = onError;
    this.loop ??= new BackgroundLoop(HINT_DELIVERY_INTERVAL_MS, () => this.deliver(), onError);
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** One delivery round to every member that can take its hints now; returns hints delivered. */
  async deliver(deadlineMs = Infinity): Promise<number> {
    let delivered = 0;
    const members = new Map(this.cluster.members().map((m) => [m.name, m]));
    for (const target of this.hints.targets()) {
      const member = members.get(target);
      const gone = member?.state === 'left';
      if (member !== undefined && !gone && member.state !== 'alive') continue;
      while (this.wallClock() < deadlineMs) {
        const batch = this.hints.batch(target, HINT_BATCH_MAX);
        if (batch.length === 0) break;
        const expired: Hint[] = [];
        const due: Hint[] = [];
        for (const hint of batch) {
          const old = gone || this.wallClock() - hint.storedAtMs > this.windowMs;
          (old ? expired : due).push(hint);
        }
        if (expired.length > 0) await this.hints.remove(expired, 'dropped');
        // Unknown: nowhere to deliver; only the hints past the window go.
        if (member === undefined) {
          if (due.length > 0) break;
          continue;
        }
        if (due.length === 0) continue;
        const to = peerAddr(member);
        let failure: unknown;
        const sent = await Promise.all(
          due.map((hint) =>
            this.applies.call(to, toWire(hint.record), hint.record.value.length).then(
              () => hint,
              (err: unknown) => {
                failure ??= err;
                return undefined;
              },
            ),
          ),
        );
        const ok = sent.filter((hint): hint is Hint => hint !== undefined);
        await this.hints.remove(ok, 'delivered');
        delivered += ok.length;
        // The member stopped answering: try again next round rather than spin on it.
        if (failure !== undefined) {
          this.onError?.(failure);
          break;
        }
      }
    }
    return delivered;
  }
}
