// A bounded cache of decoded records in front of LMDB. An LMDB read is a memory-mapped lookup,
// but copying the bytes out and decoding them costs a few microseconds — most of a GET's time
// in the store. Hot keys skip that. Eviction is first-in first-out by bytes held: cheap on the
// read path (a hit does not reorder) and good enough for skewed key popularity.

import type { StoredRecord } from './record.js';

/** Bytes of values the cache holds at most. */
export const RECORD_CACHE_BYTES_MAX = 64 * 1024 * 1024;
/** Larger values are read from LMDB each time rather than pushing many small ones out. */
export const RECORD_CACHE_VALUE_BYTES_MAX = 64 * 1024;
/** Rough per-entry overhead (key, object, map slot) counted against the byte budget. */
const ENTRY_OVERHEAD_BYTES = 128;

export class RecordCache {
  private readonly entries = new Map<string, StoredRecord>();
  private bytes = 0;

  constructor(private readonly bytesMax = RECORD_CACHE_BYTES_MAX) {}

  get(key: string): StoredRecord | undefined {
    return this.entries.get(key);
  }

  set(record: StoredRecord): void {
    this.delete(record.key);
    if (record.value.length > RECORD_CACHE_VALUE_BYTES_MAX) return;
    this.entries.set(record.key, record);
    this.bytes += sizeOf(record);
    for (const [key, oldest] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(key);
      this.bytes -= sizeOf(oldest);
    }
  }

  delete(key: string): void {
    const found = this.entries.get(key);
    if (found === undefined) return;
    this.entries.delete(key);
    this.bytes -= sizeOf(found);
  }

  get size(): number {
    return this.entries.size;
  }
}

function sizeOf(record: StoredRecord): number {
  return record.value.length + record.key.length * 2 + ENTRY_OVERHEAD_BYTES;
}
