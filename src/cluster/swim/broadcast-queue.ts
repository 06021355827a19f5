// Broadcasts waiting to ride on outgoing packets (memberlist's TransmitLimitedQueue). Each is
// about one member, keyed by its name: a newer message about a member replaces the older one,
// since only the latest state matters. Each is sent a limited number of times, fewest-sent first
// so that fresh news goes out before old news; the queue is bounded, dropping the most-sent first.
//
// Items live in tiers by transmit count; within a tier the newest goes first. Tiers are arrays
// with lazy deletion (an item carries its current tier and a removed flag), compacted when more
// than half of a tier is garbage, so that enqueue, invalidation and take are all cheap at the
// thousands of items a 1,000-member join produces.

interface QueuedBroadcast {
  readonly key: string;
  readonly bytes: Uint8Array;
  transmits: number;
  removed: boolean;
}

/**
 * Consecutive items a take may skip because they do not fit the space left, before it stops
 * looking: keeps a nearly full packet from scanning the whole queue for a small enough item.
 */
export const TAKE_SKIPS_MAX = 32;

/** A tier is compacted when its garbage passes this many slots and half its length. */
const TIER_COMPACT_SLOTS_MIN = 64;

export class BroadcastQueue {
  private readonly tiers: QueuedBroadcast[][] = [];
  /** Live items per tier (the rest of a tier's slots are garbage awaiting compaction). */
  private readonly live: number[] = [];
  private readonly byKey = new Map<string, QueuedBroadcast>();
  private dropped = 0;

  /** `maxItems`: the bound; enqueueing past it drops the most-transmitted, oldest item. */
  constructor(private readonly maxItems: number) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Items dropped because the queue was full (not those replaced or fully sent). */
  get droppedCount(): number {
    return this.dropped;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Queues `bytes` (one encoded message) about `key`, replacing any queued message about it. */
  enqueue(key: string, bytes: Uint8Array): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.remove(old);
    const item: QueuedBroadcast = { key, bytes, transmits: 0, removed: false };
    this.byKey.set(key, item);
    this.push(item);
    while (this.byKey.size > this.maxItems) this.dropMostSent();
  }

  /** Forgets the queued message about `key`, if any. */
  delete(key: string): void {
    const item = this.byKey.get(key);
    if (item !== undefined) this.remove(item);
  }

  /**
   * Messages to piggyback in `freeBytes` of space, each costing `overheadBytes` on top of its own
   * length, at most `maxItems` of them. Each taken message counts one transmit and leaves the
   * queue once it has been sent `transmitLimit` times.
   */
  take(
    freeBytes: number,
    overheadBytes: number,
    maxItems: number,
    transmitLimit: number,
  ): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.byKey.size === 0 || maxItems <= 0) return out;
    let free = freeBytes;
    const promoted: QueuedBroadcast[] = [];
    let skips = 0;
    scan: for (let t = 0; t < this.tiers.length; t++) {
      const tier = this.tiers[t] as QueuedBroadcast[];
      for (let i = tier.length - 1; i >= 0; i--) {
        const item = tier[i] as QueuedBroadcast;
        if (item.removed || item.transmits !== t) continue;
        const cost = overheadBytes + item.bytes.length;
        if (cost > free) {
          if (++skips >= TAKE_SKIPS_MAX) break scan;
          continue;
        }
        skips = 0;
        out.push(item.bytes);
        free -= cost;
        this.live[t] = (this.live[t] ?? 0) - 1;
        item.transmits++;
        if (item.transmits >= transmitLimit) {
          item.removed = true;
          this.byKey.delete(item.key);
        } else {
          // Moved after the scan, so this take does not meet it again in the next tier.
          promoted.push(item);
        }
        if (out.length >= maxItems || free <= overheadBytes) break scan;
      }
    }
    for (let t = 0; t < this.tiers.length; t++) this.trim(t);
    for (const item of promoted) this.push(item);
    return out;
  }

  private push(item: QueuedBroadcast): void {
    const t = item.transmits;
    while (this.tiers.length <= t) {
      this.tiers.push([]);
      this.live.push(0);
    }
    (this.tiers[t] as QueuedBroadcast[]).push(item);
    this.live[t] = (this.live[t] ?? 0) + 1;
  }

  private remove(item: QueuedBroadcast): void {
    if (item.removed) return;
    item.removed = true;
    this.live[item.transmits] = (this.live[item.transmits] ?? 0) - 1;
    if (this.byKey.get(item.key) === item) this.byKey.delete(item.key);
    this.compact(item.transmits);
  }

  private dropMostSent(): void {
    for (let t = this.tiers.length - 1; t >= 0; t--) {
      const tier = this.tiers[t] as QueuedBroadcast[];
      for (const item of tier) {
        if (item.removed || item.transmits !== t) continue;
        this.remove(item);
        this.dropped++;
        return;
      }
    }
  }

  /**
   * Drops garbage from the end of tier `t`. Takes consume a tier from its newest end, so this
   * removes most garbage at once and keeps the next take from stepping over it.
   */
  private trim(t: number): void {
    const tier = this.tiers[t];
    if (tier === undefined) return;
    for (;;) {
      const last = tier[tier.length - 1];
      if (last === undefined || (!last.removed && last.transmits === t)) break;
      tier.pop();
    }
    this.compact(t);
  }

  private compact(t: number): void {
    const tier = this.tiers[t];
    if (tier === undefined) return;
    const garbage = tier.length - (this.live[t] ?? 0);
    if (garbage < TIER_COMPACT_SLOTS_MIN || garbage < tier.length / 2) return;
    this.tiers[t] = tier.filter((item) => !item.removed && item.transmits === t);
  }
}
