// The durable store: LMDB (npm `lmdb`) in the data directory. Writes are queued into LMDB's
// batched asynchronous transactions and resolve once committed, so an acknowledged write survives
// the process being killed; reads are synchronous memory-mapped lookups. lmdb-js flushes each
// commit right behind it, off the writer lock (`overlappingSync`, its default here), so a machine
// crash can undo only the last commits and never corrupts the file. Waiting for the flush as
// well cost 10% of quorum PUT throughput, for a gap the other replicas already cover.
//
// Three sub-databases: `records` (key -> encoded record, sorted for listing), `partitions` (the
// partition index, see key-layout.ts) and `expiry` (due times, to count the keys still live).
// Per-partition digests live in memory: summed up by the scan at open that also counts live keys,
// then kept current by every write and purge.

import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { checkLmdbFile } from './lmdb-file-check.js';
import { PartitionDigests, recordFingerprint } from './partition-digests.js';
import {
  decodeKey,
  encodeKey,
  expiryIndexKey,
  partitionIndexKey,
  parsePartitionIndexKey,
  partitionRange,
  prefixEnd,
} from './key-layout.js';
import { partitionOf } from './partition.js';
import { decodeRecord, encodeRecord, isLiveEncoded } from './record-codec.js';
import type { StoredRecord } from './record.js';
import { RecordCache } from './record-cache.js';
import type { ClockReservation } from './hlc.js';
import { compareVersions } from './version.js';
import {
  supersedes,
  type ListOptions,
  type ListPage,
  type PartitionSummary,
  type Store,
} from './store.js';

const PRESENT = Buffer.from([1]);
/** The LMDB file inside the data directory (its lock file sits beside it). */
export const DATA_FILE_NAME = 'store.mdb';
const META_PARTITIONS = 'partitions';
/** The bound below which this node's clock may have handed out versions (hlc.ts). */
const META_CLOCK_RESERVED_UNTIL = 'clockReservedUntilMs';
/** When this node last left its cluster having handed everything it held to the others. */
const META_HANDED_OFF_AT = 'handedOffAtMs';

export interface LmdbOpenOptions {
  /**
   * A store whose node left having handed everything off, longer ago than this (the tombstone
   * grace period), opens empty. The cluster may have purged deletes meanwhile, and the values
   * they deleted would come back from here; whatever else it holds, the others hold too.
   */
  forgetHandedOffAfterMs?: number;
  wallClock?: () => number;
}

/** What a store opened empty had held, when it was last handed off. */
export interface ForgottenStore {
  handedOffAtMs: number;
  records: number;
}

export class PartitionCountMismatchError extends Error {
  readonly code = 'PARTITIONS_CHANGED';
  constructor(stored: number, configured: number) {
    super(
      `the data directory was created with ${stored} partitions, not ${configured}; ` +
        'the partition count is fixed for the life of a cluster',
    );
  }
}

type BinaryDb = Database<Buffer, Buffer>;

export class LmdbStore implements Store {
  /** Writes handed to LMDB but not yet committed: later writes must compare against them. */
  private readonly pending = new Map<string, StoredRecord>();
  /**
   * Keys whose purge is handed to LMDB but not yet committed: LMDB still returns them, yet a
   * write arriving now must find the key gone, or it would account for the purged record twice.
   */
  private readonly purging = new Set<string>();
  /** Decoded committed records of keys clients read recently. */
  private readonly cache = new RecordCache();
  private readonly digests: PartitionDigests;
  private liveKeys = 0;
  private open = true;

  private constructor(
    private readonly root: RootDatabase,
    private readonly meta: Database<number, string>,
    private readonly records: BinaryDb,
    private readonly byPartition: BinaryDb,
    private readonly byExpiry: BinaryDb,
    private readonly partitions: number,
    /** Set when the store opened empty after a hand-off longer ago than the grace period. */
    readonly forgotten: ForgottenStore | undefined,
  ) {
    this.digests = new PartitionDigests(partitions);
    for (const { key, value } of this.records.getRange({})) {
      const record = decodeRecord(decodeKey(key), value);
      if (!record.tombstone) this.liveKeys++;
      this.digests.add(partitionOf(key, partitions), recordFingerprint(key, record));
    }
  }

  static async open(
    dir: string,
    partitions: number,
    options: LmdbOpenOptions = {},
  ): Promise<LmdbStore> {
    // Name the data file explicitly: given a directory whose name has a dot, lmdb would take it
    // for a file name.
    checkLmdbFile(join(dir, DATA_FILE_NAME));
    const root = open({ path: join(dir, DATA_FILE_NAME), maxDbs: 8, compression: false });
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    const meta = root.openDB<number, string>({ name: 'meta' });
    const stored = meta.get(META_PARTITIONS);
    if (stored === undefined) {
      await meta.put(META_PARTITIONS, partitions);
    } else if (stored !== partitions) {
      await root.close();
      throw new PartitionCountMismatchError(stored, partitions);
    }
    const records = root.openDB<Buffer, Buffer>({ name: 'records', ...binary });
    const byPartition = root.openDB<Buffer, Buffer>({ name: 'partitions', ...binary });
    const byExpiry = root.openDB<Buffer, Buffer>({ name: 'expiry', ...binary });
    let forgotten: ForgottenStore | undefined;
    const handedOffAtMs = meta.get(META_HANDED_OFF_AT);
    if (handedOffAtMs !== undefined) {
      const now = (options.wallClock ?? Date.now)();
      const limit = options.forgetHandedOffAfterMs;
      if (limit !== undefined && now - handedOffAtMs >= limit) {
        forgotten = { handedOffAtMs, records: records.getCount() };
        await Promise.all([records.clearAsync(), byPartition.clearAsync(), byExpiry.clearAsync()]);
      }
      // Last: a node stopped before this point forgets on its next start instead.
      await meta.remove(META_HANDED_OFF_AT);
    }
    return new LmdbStore(root, meta, records, byPartition, byExpiry, partitions, forgotten);
  }

  /** Keeps the clock's reservation in this store's file: written at most once a second. */
  clockReservation(): ClockReservation {
    return {
      reservedUntilMs: this.meta.get(META_CLOCK_RESERVED_UNTIL),
      reserve: (untilMs) => {
        this.meta.putSync(META_CLOCK_RESERVED_UNTIL, untilMs);
      },
    };
  }

  /** Notes that this node handed everything it holds to the others as it left (LmdbOpenOptions). */
  async markHandedOff(nowMs: number): Promise<void> {
    await this.meta.put(META_HANDED_OFF_AT, nowMs);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** A client's read: a record read from LMDB is cached, for the reads of it that follow. */
  get(key: string): StoredRecord | undefined {
    const known = this.pending.get(key) ?? this.cache.get(key);
    if (known !== undefined) return known;
    const record = this.read(key);
    if (record !== undefined) this.cache.set(record);
    return record;
  }

  /**
   * Writers' reads and the store's own (a write's look at the version it replaces, scans, purges)
   * leave the cache as it is. Neither they nor writes fill it: a record cached by a write lived
   * until the key's next write, long enough to reach V8's old generation, and a write-heavy load
   * then kept the major collector busy (3-node quorum PUTs took 12% less CPU without it,
   * alternating runs).
   */
  peek(key: string): StoredRecord | undefined {
    return this.pending.get(key) ?? this.cache.get(key) ?? this.read(key);
  }

  /** The committed record in LMDB, unless its purge is under way. */
  private read(key: string): StoredRecord | undefined {
    if (this.purging.has(key)) return undefined;
    const bytes = this.records.get(encodeKey(key));
    return bytes === undefined ? undefined : decodeRecord(key, bytes);
  }

  async apply(record: StoredRecord): Promise<boolean> {
    if (!this.open) throw new Error('store is closed');
    const current = this.peek(record.key);
    if (!supersedes(record, current)) return false;

    // Everything that can refuse the record comes before any change: a record out of range
    // must leave the digests and indexes as they were.
    const keyBytes = encodeKey(record.key);
    const encoded = encodeRecord(record);
    const fingerprint = recordFingerprint(keyBytes, record);
    const partition = partitionOf(keyBytes, this.partitions);
    // All puts below happen in one event turn, so LMDB commits them in one transaction.
    if (current === undefined) {
      void this.byPartition.put(partitionIndexKey(partition, keyBytes), PRESENT);
    } else {
      this.digests.remove(partition, recordFingerprint(keyBytes, current));
    }
    this.digests.add(partition, fingerprint);
    if (
      current !== undefined &&
      current.expiresAtMs !== 0 &&
      current.expiresAtMs !== record.expiresAtMs
    ) {
      void this.byExpiry.remove(expiryIndexKey(current.expiresAtMs, keyBytes));
    }
    if (record.expiresAtMs !== 0) {
      void this.byExpiry.put(expiryIndexKey(record.expiresAtMs, keyBytes), PRESENT);
    }
    const committed = this.records.put(keyBytes, encoded);
    this.liveKeys +=
      (record.tombstone ? 0 : 1) - (current === undefined || current.tombstone ? 0 : 1);
    this.pending.set(record.key, record);
    this.cache.delete(record.key);
    try {
      await committed;
    } catch (err) {
      if (this.pending.get(record.key) === record) this.pending.delete(record.key);
      this.recountPartition(partition);
      throw err;
    }
    // A later write of the key may still be pending: only the latest one clears the entry.
    if (this.pending.get(record.key) === record) this.pending.delete(record.key);
    return true;
  }

  list(options: ListOptions): ListPage {
    const prefix = encodeKey(options.prefix);
    const afterBytes = options.after === undefined ? undefined : encodeKey(options.after);
    // Keys after `after` start at after + 0x00, the smallest longer key.
    const start =
      afterBytes !== undefined && Buffer.compare(afterBytes, prefix) >= 0
        ? Buffer.concat([afterBytes, Buffer.from([0])])
        : prefix;
    const end = prefixEnd(prefix);
    const keys: string[] = [];
    let examined = 0;
    let lastExamined: string | undefined;
    for (const { key, value } of this.records.getRange(
      end === undefined ? { start } : { start, end },
    )) {
      if (keys.length >= options.limit || examined >= options.scanMax) {
        return { keys, resumeAfter: lastExamined };
      }
      examined++;
      lastExamined = decodeKey(key);
      if (isLiveEncoded(value, options.nowMs)) keys.push(lastExamined);
    }
    return { keys, resumeAfter: undefined };
  }

  *scanPartition(partition: number, after?: string): Iterable<StoredRecord> {
    const range = partitionRange(partition);
    // Keys after `after` start at after + 0x00, the smallest longer key.
    const start =
      after === undefined
        ? range.start
        : partitionIndexKey(partition, Buffer.concat([encodeKey(after), Buffer.from([0])]));
    for (const indexKey of this.byPartition.getKeys({ start, end: range.end })) {
      const record = this.peek(parsePartitionIndexKey(indexKey).key);
      if (record !== undefined) yield record;
    }
  }

  async removeExact(records: readonly Pick<StoredRecord, 'key' | 'version'>[]): Promise<number> {
    if (!this.open) throw new Error('store is closed');
    let last: Promise<boolean> | undefined;
    const removedKeys: string[] = [];
    const touched = new Set<number>();
    for (const { key, version } of records) {
      const current = this.peek(key);
      // A write in flight or a newer version since the caller looked: that record stays.
      if (current === undefined || this.pending.has(key)) continue;
      if (compareVersions(current.version, version) !== 0) continue;
      const keyBytes = encodeKey(key);
      const partition = partitionOf(keyBytes, this.partitions);
      void this.byPartition.remove(partitionIndexKey(partition, keyBytes));
      if (current.expiresAtMs !== 0) {
        void this.byExpiry.remove(expiryIndexKey(current.expiresAtMs, keyBytes));
      }
      last = this.records.remove(keyBytes);
      this.cache.delete(key);
      this.purging.add(key);
      removedKeys.push(key);
      this.digests.remove(partition, recordFingerprint(keyBytes, current));
      touched.add(partition);
      if (!current.tombstone) this.liveKeys--;
    }
    try {
      if (last !== undefined) await last;
    } catch (err) {
      for (const partition of touched) this.recountPartition(partition);
      throw err;
    } finally {
      for (const key of removedKeys) this.purging.delete(key);
    }
    return removedKeys.length;
  }

  partitionSummary(partition: number): PartitionSummary {
    return this.digests.summary(partition);
  }

  partitionSummaries(): PartitionSummary[] {
    return this.digests.nonEmpty();
  }

  heldPartitions(): number[] {
    return this.digests.held();
  }

  liveKeyCount(nowMs: number): number {
    // Records that are not tombstones, less those expired: every expiry index entry due by now
    // (the codec refuses a tombstone with an expiry). Counted in LMDB: 33 ms for a million index
    // keys, measured.
    const due = expiryIndexKey(nowMs + 1, Buffer.alloc(0));
    return this.liveKeys - this.byExpiry.getKeysCount({ end: due });
  }

  /**
   * Sums a partition's digest up again from what the store holds: its committed records plus
   * writes still in flight. After a failed commit the incremental digest would otherwise keep
   * records that never reached the disk, and replicas would see a difference that is not there.
   */
  private recountPartition(partition: number): void {
    this.digests.clear(partition);
    const seen = new Set<string>();
    const { start, end } = partitionRange(partition);
    for (const indexKey of this.byPartition.getKeys({ start, end })) {
      const key = parsePartitionIndexKey(indexKey).key;
      seen.add(key);
      const record = this.peek(key);
      if (record !== undefined) {
        this.digests.add(partition, recordFingerprint(encodeKey(key), record));
      }
    }
    for (const [key, record] of this.pending) {
      const keyBytes = encodeKey(key);
      if (seen.has(key) || partitionOf(keyBytes, this.partitions) !== partition) continue;
      this.digests.add(partition, recordFingerprint(keyBytes, record));
    }
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.root.flushed;
    await this.root.close();
  }
}
