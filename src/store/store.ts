// The interface every store implements: LMDB on disk for real nodes, memory for the simulator
// and unit tests. One contract test suite (test/unit/store/store-contract.ts) runs against both.

import { compareVersions } from './version.js';
import type { StoredRecord } from './record.js';

export interface ListOptions {
  prefix: string;
  /** Return keys strictly after this one (the previous page's last key). */
  after?: string | undefined;
  limit: number;
  nowMs: number;
  /** Bound on records examined per page, so pages over many tombstones stay cheap. */
  scanMax: number;
}

export interface ListPage {
  keys: string[];
  /** Where the next page starts (the last key examined), or undefined when the range is done. */
  resumeAfter: string | undefined;
}

/** One partition as this store holds it: what replicas compare in anti-entropy. */
export interface PartitionSummary {
  partition: number;
  /** Records held, tombstones included (replicas must agree on deletes too). */
  keys: number;
  /**
   * 16 hex characters, equal on two stores exactly when they hold the same keys at the same
   * versions, tombstones included (see partition-digests.ts).
   */
  digest: string;
}

export interface Store {
  /** The raw record, tombstones and expired records included. */
  get(key: string): StoredRecord | undefined;
  /** As `get`, for a writer's look at what it replaces: it leaves any read cache as it is. */
  peek(key: string): StoredRecord | undefined;
  /**
   * Stores the record unless the store already holds the same key at an equal or newer version
   * (last writer wins). Resolves once durable; true when the record was stored.
   */
  apply(record: StoredRecord): Promise<boolean>;
  /** Live keys in UTF-8 byte order, starting with `prefix`. */
  list(options: ListOptions): ListPage;
  /** The records of one partition (tombstones included) in key order, after `after` if given. */
  scanPartition(partition: number, after?: string): Iterable<StoredRecord>;
  /**
   * Removes each key whose stored version is exactly the one given (a newer write since the
   * caller looked stays): purged tombstones, and partitions handed to their new owners.
   */
  removeExact(records: readonly Pick<StoredRecord, 'key' | 'version'>[]): Promise<number>;
  /** The partition's record count and digest, kept current on every write and purge. */
  partitionSummary(partition: number): PartitionSummary;
  /** Summaries of the partitions holding at least one record, in partition order. */
  partitionSummaries(): PartitionSummary[];
  /** The partitions holding at least one record, in order (no digests: cheap to ask often). */
  heldPartitions(): number[];
  /**
   * Keys that are neither deleted nor expired at `nowMs`. Expired records stay in the store for
   * the tombstone grace period (they stand for deletes) but are not counted.
   */
  liveKeyCount(nowMs: number): number;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/** Last-writer-wins: does `incoming` replace `current`? */
export function supersedes(incoming: StoredRecord, current: StoredRecord | undefined): boolean {
  return current === undefined || compareVersions(incoming.version, current.version) > 0;
}
