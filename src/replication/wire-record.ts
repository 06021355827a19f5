// A record as it travels between nodes (peer RPC) and into the hint file: plain fields that
// msgpack carries as they are (the value stays a byte array). What comes from a peer is checked
// field by field before it reaches the store.

import { KEY_BYTES_LIMIT_MAX } from '../config.js';
import { unencodable } from '../store/record-codec.js';
import type { StoredRecord } from '../store/record.js';

/** A record as it travels between nodes (msgpack keeps the Buffer). */
export interface WireRecord {
  key: string;
  value: Uint8Array;
  contentType: string;
  wallMs: number;
  counter: number;
  node: string;
  tombstone: boolean;
  expiresAtMs: number;
}

export function toWire(r: StoredRecord): WireRecord {
  return {
    key: r.key,
    value: r.value,
    contentType: r.contentType,
    wallMs: r.version.wallMs,
    counter: r.version.counter,
    node: r.version.node,
    tombstone: r.tombstone,
    expiresAtMs: r.expiresAtMs,
  };
}

export function fromWire(w: WireRecord): StoredRecord {
  const valid =
    typeof w === 'object' &&
    w !== null &&
    typeof w.key === 'string' &&
    w.key.length > 0 &&
    Buffer.byteLength(w.key, 'utf8') <= KEY_BYTES_LIMIT_MAX &&
    w.value instanceof Uint8Array &&
    typeof w.contentType === 'string' &&
    typeof w.wallMs === 'number' &&
    typeof w.counter === 'number' &&
    typeof w.node === 'string' &&
    typeof w.tombstone === 'boolean' &&
    typeof w.expiresAtMs === 'number';
  if (!valid) throw new Error('malformed record from a peer');
  const record = {
    key: w.key,
    value: Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength),
    contentType: w.contentType,
    version: { wallMs: w.wallMs, counter: w.counter, node: w.node },
    tombstone: w.tombstone,
    expiresAtMs: w.expiresAtMs,
  };
  // Out of the store's ranges, it could not be stored, and must not get as far as trying.
  const problem = unencodable(record);
  if (problem !== undefined) throw new Error(`malformed record from a peer: ${problem}`);
  return record;
}
