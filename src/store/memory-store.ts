// The in-memory store: the same contract as the LMDB store, for the simulator and unit tests.

import { PartitionDigests, recordFingerprint } from './partition-digests.js';
import { encodeKey } from './key-layout.js';
import { partitionOf } from './partition.js';
import { isLive, type StoredRecord } from './record.js';
import { compareVersions } from './version.js';
import {
  supersedes,
  type ListOptions,
  type ListPage,
  type PartitionSummary,
  type Store,
} from './store.js';

export class MemoryStore implements Store {
  private readonly records = new Map<string, StoredRecord>();
  private readonly digests: PartitionDigests;
  private open = true;

  constructor(private readonly partitions: number) {
    this.digests = new PartitionDigests(partitions);
  }

  get isOpen(): boolean {
    return this.open;
  }

  get(key: string): StoredRecord | undefined {
    return this.records.get(key);
  }

  peek(key: string): StoredRecord | undefined {
    return this.records.get(key);
  }

  apply(record: StoredRecord): Promise<boolean> {
    if (!this.open) return Promise.reject(new Error('store is closed'));
    const current = this.records.get(record.key);
    if (!supersedes(record, current)) return Promise.resolve(false);
    const keyBytes = encodeKey(record.key);
    const partition = partitionOf(keyBytes, this.partitions);
    if (current !== undefined) this.digests.remove(partition, recordFingerprint(keyBytes, current));
    this.digests.add(partition, recordFingerprint(keyBytes, record));
    this.records.set(record.key, { ...record, value: Buffer.from(record.value) });
    return Promise.resolve(true);
  }

  list(options: ListOptions): ListPage {
    const prefix = encodeKey(options.prefix);
    const after = options.after === undefined ? undefined : encodeKey(options.after);
    const sorted = [...this.records.keys()]
      .map((key) => ({ key, bytes: encodeKey(key) }))
      .filter(({ bytes }) => bytes.subarray(0, prefix.length).equals(prefix))
      .filter(({ bytes }) => after === undefined || Buffer.compare(bytes, after) > 0)
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const keys: string[] = [];
    let examined = 0;
    let lastExamined: string | undefined;
    for (const { key } of sorted) {
      if (keys.length >= options.limit || examined >= options.scanMax) {
        return { keys, resumeAfter: lastExamined };
      }
      examined++;
      lastExamined = key;
      if (isLive(this.records.get(key), options.nowMs)) keys.push(key);
    }
    return { keys, resumeAfter: undefined };
  }

  *scanPartition(partition: number, after?: string): Iterable<StoredRecord> {
    const from = after === undefined ? undefined : encodeKey(after);
    const inPartition = [...this.records.values()]
      .filter((r) => partitionOf(encodeKey(r.key), this.partitions) === partition)
      .filter((r) => from === undefined || Buffer.compare(encodeKey(r.key), from) > 0)
      .sort((a, b) => Buffer.compare(encodeKey(a.key), encodeKey(b.key)));
    yield* inPartition;
  }

  removeExact(records: readonly Pick<StoredRecord, 'key' | 'version'>[]): Promise<number> {
    let removed = 0;
    for (const { key, version } of records) {
      const current = this.records.get(key);
      if (current === undefined || compareVersions(current.version, version) !== 0) continue;
      this.records.delete(key);
      const keyBytes = encodeKey(key);
      this.digests.remove(
        partitionOf(keyBytes, this.partitions),
        recordFingerprint(keyBytes, current),
      );
      removed++;
    }
    return Promise.resolve(removed);
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
    let live = 0;
    for (const record of this.records.values()) {
      const expired = record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs;
      if (!record.tombstone && !expired) live++;
    }
    return live;
  }

  close(): Promise<void> {
    this.open = false;
    return Promise.resolve();
  }
}
