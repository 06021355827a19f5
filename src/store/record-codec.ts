// The on-disk form of a record. A fixed header, then the writer's node name, the content type and
// the value bytes. Hand-written rather than msgpack because it is on the hot path of every read
// and write and the layout never needs more than this.
//
//   0      format (1)
//   1      flags (bit 0: tombstone)
//   2..7   version wall ms (u48)
//   8..11  version counter (u32)
//   12..17 expiry wall ms (u48, 0 = never)
//   18     node name length n (u8)
//   19..   node name, content-type length (u8), content type, value

import { StoreCorruptionError } from './store-error.js';
import type { StoredRecord } from './record.js';

const FORMAT = 1;
const HEADER_BYTES = 19;
const TOMBSTONE_FLAG = 1;

const U48_LIMIT = 2 ** 48;
const U32_LIMIT = 2 ** 32;
const SHORT_STRING_BYTES_MAX = 255;

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Why this layout cannot hold the record (a field out of its range); undefined when it can. */
export function unencodable(record: StoredRecord): string | undefined {
  const { wallMs, counter, node } = record.version;
  const within = (n: number, limit: number): boolean =>
    Number.isSafeInteger(n) && n >= 0 && n < limit;
  if (!within(wallMs, U48_LIMIT)) return `version time ${wallMs} is out of range`;
  if (!within(counter, U32_LIMIT)) return `version counter ${counter} is out of range`;
  if (!within(record.expiresAtMs, U48_LIMIT)) {
    return `expiry ${record.expiresAtMs} is out of range`;
  }
  // A delete outlives any expiry; the live-key count relies on tombstones having none.
  if (record.tombstone && record.expiresAtMs !== 0) return 'a tombstone carries no expiry';
  if (Buffer.byteLength(node, 'utf8') > SHORT_STRING_BYTES_MAX) {
    return `node name is over ${SHORT_STRING_BYTES_MAX} bytes`;
  }
  if (record.contentType.length > SHORT_STRING_BYTES_MAX || !isLatin1(record.contentType)) {
    return `content type is not ${SHORT_STRING_BYTES_MAX} Latin-1 characters or fewer`;
  }
  return undefined;
}

export function encodeRecord(record: StoredRecord): Buffer {
  const problem = unencodable(record);
  if (problem !== undefined) throw new RangeError(problem);
  const node = Buffer.from(record.version.node, 'utf8');
  const contentType = Buffer.from(record.contentType, 'latin1');
  const out = Buffer.allocUnsafe(
    HEADER_BYTES + node.length + 1 + contentType.length + record.value.length,
  );
  out[0] = FORMAT;
  out[1] = record.tombstone ? TOMBSTONE_FLAG : 0;
  out.writeUIntBE(record.version.wallMs, 2, 6);
  out.writeUInt32BE(record.version.counter, 8);
  out.writeUIntBE(record.expiresAtMs, 12, 6);
  out[18] = node.length;
  let offset = HEADER_BYTES;
  offset += node.copy(out, offset);
  out[offset++] = contentType.length;
  offset += contentType.copy(out, offset);
  record.value.copy(out, offset);
  return out;
}

export function decodeRecord(key: string, bytes: Buffer): StoredRecord {
  if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT) {
    throw new StoreCorruptionError(`record of key ${JSON.stringify(key)} has an unknown format`);
  }
  const flags = bytes[1] ?? 0;
  const nodeLength = bytes[18] ?? 0;
  const contentTypeAt = HEADER_BYTES + nodeLength;
  if (contentTypeAt >= bytes.length) {
    throw new StoreCorruptionError(`record of key ${JSON.stringify(key)} is truncated`);
  }
  const contentTypeLength = bytes[contentTypeAt] ?? 0;
  const valueAt = contentTypeAt + 1 + contentTypeLength;
  if (valueAt > bytes.length || (flags & ~TOMBSTONE_FLAG) !== 0) {
    throw new StoreCorruptionError(
      `record of key ${JSON.stringify(key)} is truncated or has unknown flags`,
    );
  }
  return {
    key,
    tombstone: (flags & TOMBSTONE_FLAG) !== 0,
    version: {
      wallMs: bytes.readUIntBE(2, 6),
      counter: bytes.readUInt32BE(8),
      node: bytes.toString('utf8', HEADER_BYTES, contentTypeAt),
    },
    expiresAtMs: bytes.readUIntBE(12, 6),
    contentType: bytes.toString('latin1', contentTypeAt + 1, valueAt),
    value: bytes.subarray(valueAt),
  };
}

/** Liveness straight from the encoded header, without copying the value (used by scans). */
export function isLiveEncoded(bytes: Uint8Array, nowMs: number): boolean {
  if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT) return false;
  if (((bytes[1] ?? 0) & TOMBSTONE_FLAG) !== 0) return false;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expiresAtMs = buf.readUIntBE(12, 6);
  return expiresAtMs === 0 || expiresAtMs > nowMs;
}

export function isTombstoneEncoded(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_BYTES && ((bytes[1] ?? 0) & TOMBSTONE_FLAG) !== 0;
}
