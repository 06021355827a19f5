// What the store keeps per key. Deletes are records too (tombstones), so a delete has a version
// and wins over older writes when replicas merge.

import type { Version } from './version.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Content types are stored with a one-byte length. */
export const CONTENT_TYPE_BYTES_MAX = 255;

export interface StoredRecord {
  key: string;
  value: Buffer;
  contentType: string;
  version: Version;
  tombstone: boolean;
  /** Absolute expiry in wall milliseconds; 0 means the record never expires. */
  expiresAtMs: number;
}

/** A record is visible to readers when it is neither deleted nor expired at `nowMs`. */
export function isLive(record: StoredRecord | undefined, nowMs: number): record is StoredRecord {
  return (
    record !== undefined &&
    !record.tombstone &&
    (record.expiresAtMs === 0 || record.expiresAtMs > nowMs)
  );
}
