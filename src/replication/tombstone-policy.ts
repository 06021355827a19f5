// When a delete may be forgotten. A tombstone must outlive every outage a replica can come back
// from, or a replica that missed the delete would spread the old value again (Cassandra's
// gc_grace_seconds). Past the grace period a tombstone is purged once the other replicas are in
// sync, and is no longer copied to a replica that lacks the key altogether — only to one that
// holds an older version, which the tombstone must still overwrite.

import type { StoredRecord } from '../store/record.js';

export class TombstonePolicy {
  constructor(
    readonly graceMs: number,
    private readonly wallClock: () => number = Date.now,
  ) {}

  /** A tombstone older than the grace period. */
  purgeable(record: StoredRecord): boolean {
    return record.tombstone && record.version.wallMs < this.wallClock() - this.graceMs;
  }
}
