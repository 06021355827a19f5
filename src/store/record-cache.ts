// A bounded cache of decoded records in front of LMDB. An LMDB read is a memory-mapped lookup,
// but copying the bytes out and decoding them costs a few microseconds — most of a GET's time
// in the store. Hot keys skip that. Eviction is first-in first-out by bytes held: cheap on the
// read path (a hit does not reorder) and good enough for skewed key popularity.
//
// The insertion order lives in an array with a moving head, not in the Map's own order: taking
// the oldest entry from a Map means iterating it from the start, past every slot a delete left
// behind, and with keys rewritten all the time that walk was a third of a store write's CPU time.

import type { StoredRecord } from './record.js';

/** Bytes of values the cache holds at most. */
export const RECORD_CACHE_BYTES_MAX = 64 * 1024 * 1024;
/** Larger values are read from LMDB each time rather than pushing many small ones out. */
export const RECORD_CACHE_VALUE_BYTES_MAX = 64 * 1024;
/** Rough per-entry overhead (key, object, map slot) counted against the byte budget. */
const ENTRY_OVERHEAD_BYTES = 128;
/**
 * How many bytes beyond its own a cached value may keep alive. A value that came from a peer is
 * a view into the frame it arrived in, and an anti-entropy repair frame carries up to 500
 * records: cached as it is, one small value would keep the whole frame alive while the byte
 * budget counted only the value. Such a value is copied into Node's shared pool for small
 * buffers: values cached one after another share a pool slab and leave the cache together, first
 * in first out. (Values already in a pool slab are copied again; that costs ~0.1 µs.)
 */
const PINNED_SLACK_BYTES = 256;

/** One caching of a record: a new one each time, so an order slot names exactly one caching. */
interface Entry {
  record: StoredRecord;
  bytes: number;
}

export class RecordCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Entries in the order they were cached, oldest at `head`. An entry replaced or deleted since
   * stays here until eviction or compaction passes it (it is no longer the map's entry for its
   * key); compaction keeps the whole array within about twice the entries.
   */
  private order: Entry[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly bytesMax = RECORD_CACHE_BYTES_MAX) {}

  get(key: string): StoredRecord | undefined {
    return this.entries.get(key)?.record;
  }

  set(record: StoredRecord): void {
    this.delete(record.key);
    if (record.value.length > RECORD_CACHE_VALUE_BYTES_MAX) return;
    const entry = { record: ownBytes(record), bytes: sizeOf(record) };
    this.entries.set(record.key, entry);
    this.order.push(entry);
    this.bytes += entry.bytes;
    while (this.bytes > this.bytesMax && this.head < this.order.length) {
      const oldest = this.order[this.head++] as Entry;
      if (this.entries.get(oldest.record.key) === oldest) {
        this.entries.delete(oldest.record.key);
        this.bytes -= oldest.bytes;
      }
    }
    // The whole array counts, evicted front included: new keys evict as fast as they arrive, and
    // the slots behind `head` would otherwise keep every record ever cached.
    if (this.order.length > 2 * this.entries.size + 64) this.compact();
  }

  delete(key: string): void {
    const found = this.entries.get(key);
    if (found === undefined) return;
    this.entries.delete(key);
    this.bytes -= found.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops the entries no longer cached from the order array, keeping the rest in order. */
  private compact(): void {
    const live: Entry[] = [];
    for (let i = this.head; i < this.order.length; i++) {
      const entry = this.order[i] as Entry;
      if (this.entries.get(entry.record.key) === entry) live.push(entry);
    }
    this.order = live;
    this.head = 0;
  }
}

/** The record, with its value copied out if it is a small view into a much larger buffer. */
function ownBytes(record: StoredRecord): StoredRecord {
  const value = record.value;
  if (value.buffer.byteLength - value.byteLength <= PINNED_SLACK_BYTES) return record;
  return { ...record, value: Buffer.from(value) };
}

function sizeOf(record: StoredRecord): number {
  return record.value.length + record.key.length * 2 + ENTRY_OVERHEAD_BYTES;
}
