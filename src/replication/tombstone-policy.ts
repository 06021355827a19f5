// When a delete may be forgotten. A tombstone must outlive every outage a replica can come back
// from, or a replica that missed the delete would spread the old value again (Cassandra's
// gc_grace_seconds). Past the grace period a tombstone is purged once the other replicas are in
// sync, and is no longer copied to a replica that lacks the key altogether — only to one that
// holds an older version, which the tombstone must still overwrite.
//
// A record that expired is a delete that happened at its expiry time, and is kept for as long
// past it: purged at once, it would let a replica that missed the write spread the value the
// write replaced (Cassandra turns expired cells into tombstones for the same reason).

import type { ClusterView } from '../cluster/cluster-view.js';
import type { StoredRecord } from '../store/record.js';
import type { RecentDepartures } from './recent-departures.js';
import { HINT_WINDOW_MS } from './hint-store.js';

/** What the purge rule needs to know of membership. */
export interface PurgeWitness extends Pick<ClusterView, 'selfName' | 'members'> {
  /** Whether this node has joined its cluster (or bootstrapped one). */
  readonly joined: boolean;
}

/** The longest time between two looks over a partition for tombstones to purge. */
const PURGE_SCAN_INTERVAL_MS_MAX = 60 * 60 * 1000;

export class TombstonePolicy {
  private readonly startedMs: number;

  constructor(
    readonly graceMs: number,
    private readonly cluster: PurgeWitness,
    private readonly departures: Pick<RecentDepartures, 'names'>,
    private readonly wallClock: () => number = Date.now,
  ) {
    this.startedMs = wallClock();
  }

  /**
   * Whether anything may be forgotten now: this node has joined, every member that has not left
   * is alive, and none left lately. A member that is down, or one not heard from yet, may hold an
   * old copy of any partition: a former owner, or one whose partitions moved while it was away.
   * So may one that left and is still handing its partitions over. A value it holds comes back
   * once the delete that replaced it is purged, so nothing is purged until every member is back
   * and every leaver is done.
   *
   * A node that knows no other member may have bootstrapped alone while its peers were out of
   * reach: it forgets nothing until it has been up, alone, for the grace period.
   */
  purgesAllowed(): boolean {
    if (!this.cluster.joined) return false;
    const members = this.cluster.members();
    if (!members.every((m) => m.state === 'alive' || m.state === 'left')) return false;
    if (this.departures.names().length > 0) return false;
    const alone = members.every((m) => m.name === this.cluster.selfName);
    return !alone || this.wallClock() - this.startedMs >= this.graceMs;
  }

  /**
   * How often a partition's records are looked over for tombstones to purge: a quarter of the
   * grace period, at most hourly. Finding a tombstone that late does no harm (it is kept for the
   * grace period anyway), and a partition of many keys is not read through on every visit.
   */
  get purgeScanIntervalMs(): number {
    return Math.min(PURGE_SCAN_INTERVAL_MS_MAX, this.graceMs / 4);
  }

  /**
   * How long a missed write is worth a hint: the hint window, or the grace period if shorter.
   * Past the grace period the delete that replaced a hinted write may be purged, and delivering
   * the hint would bring the write back (Cassandra caps its hint window by gc grace).
   */
  get hintWindowMs(): number {
    return Math.min(HINT_WINDOW_MS, this.graceMs);
  }

  nowMs(): number {
    return this.wallClock();
  }

  /** A tombstone older than the grace period, or a record that expired longer ago than it. */
  purgeable(record: StoredRecord): boolean {
    const forgettableBefore = this.wallClock() - this.graceMs;
    if (record.expiresAtMs !== 0 && record.expiresAtMs < forgettableBefore) return true;
    return record.tombstone && record.version.wallMs < forgettableBefore;
  }
}
