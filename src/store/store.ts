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

export interface Store {
  /** The raw record, tombstones and expired records included. */
  get(key: string): StoredRecord | undefined;
  /**
   * Stores the record unless the store already holds the same key at an equal or newer version
   * (last writer wins). Resolves once durable; true when the record was stored.
   */
  apply(record: StoredRecord): Promise<boolean>;
  /** Live keys in UTF-8 byte order, starting with `prefix`. */
  list(options: ListOptions): ListPage;
  /** Every record of one partition (tombstones included), in key order. */
  scanPartition(partition: number): Iterable<StoredRecord>;
  /** Removes records whose expiry is at or before nowMs, at most `max` of them; returns how many. */
  purgeExpired(nowMs: number, max: number): Promise<number>;
  /** Number of keys that are not tombstones (expired keys count until they are purged). */
  liveKeyCount(): number;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/** Last-writer-wins: does `incoming` replace `current`? */
export function supersedes(incoming: StoredRecord, current: StoredRecord | undefined): boolean {
  return current === undefined || compareVersions(incoming.version, current.version) > 0;
}
