// The data layer of a single node: versions come from this node's hybrid logical clock and
// every request is answered from the local store.

import type { Consistency } from '../config.js';
import { HybridLogicalClock } from '../store/hlc.js';
import { isLive, type StoredRecord } from '../store/record.js';
import type { Store } from '../store/store.js';
import type { Version } from '../store/version.js';
import type { KvService, ListRequest, ListResult, PutRequest, ReadResult } from './kv-service.js';

/** Records examined per list page at most, so a page over many tombstones stays cheap. */
export const LIST_SCAN_RECORDS_MAX = 10_000;

export class LocalKv implements KvService {
  constructor(
    private readonly store: Store,
    private readonly clock: HybridLogicalClock,
    private readonly wallClock: () => number = Date.now,
  ) {}

  get(key: string, _consistency: Consistency): Promise<ReadResult | undefined> {
    const record = this.store.get(key);
    if (!isLive(record, this.wallClock())) return Promise.resolve(undefined);
    return Promise.resolve({
      value: record.value,
      contentType: record.contentType,
      version: record.version,
    });
  }

  async put(request: PutRequest): Promise<Version> {
    const nowMs = this.wallClock();
    const record: StoredRecord = {
      key: request.key,
      value: request.value,
      contentType: request.contentType,
      version: this.nextVersion(request.key),
      tombstone: false,
      expiresAtMs: request.ttlMs === undefined ? 0 : nowMs + request.ttlMs,
    };
    await this.store.apply(record);
    return record.version;
  }

  async delete(key: string, _consistency: Consistency): Promise<Version | undefined> {
    if (!isLive(this.store.get(key), this.wallClock())) return undefined;
    const record: StoredRecord = {
      key,
      value: Buffer.alloc(0),
      contentType: '',
      version: this.nextVersion(key),
      tombstone: true,
      expiresAtMs: 0,
    };
    await this.store.apply(record);
    return record.version;
  }

  list(request: ListRequest): Promise<ListResult> {
    return Promise.resolve(
      this.store.list({ ...request, nowMs: this.wallClock(), scanMax: LIST_SCAN_RECORDS_MAX }),
    );
  }

  /**
   * A version newer than anything stored for the key, even if the wall clock stepped back since
   * it was written (for example across a restart), so the new write always wins.
   */
  private nextVersion(key: string): Version {
    const current = this.store.get(key);
    if (current !== undefined) this.clock.observe(current.version);
    return this.clock.now();
  }
}
