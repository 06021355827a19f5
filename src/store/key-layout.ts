// How keys are laid out in the store's indexes. The partition index key is the partition number
// (u16, big-endian) followed by the key's UTF-8 bytes, so all keys of one partition are one
// contiguous, sorted range: scanning or digesting a partition is a single cursor walk. The expiry
// index key is the expiry time (u48, big-endian) followed by the key, so due keys are a prefix.

export function encodeKey(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

export function decodeKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

export function partitionIndexKey(partition: number, keyBytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + keyBytes.length);
  out.writeUInt16BE(partition, 0);
  out.set(keyBytes, 2);
  return out;
}

export function parsePartitionIndexKey(bytes: Uint8Array): { partition: number; key: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { partition: buf.readUInt16BE(0), key: buf.toString('utf8', 2) };
}

/** First and past-the-end index keys of a partition's range. */
export function partitionRange(partition: number): { start: Buffer; end: Buffer } {
  const start = Buffer.alloc(2);
  start.writeUInt16BE(partition, 0);
  const end = Buffer.alloc(3);
  if (partition === 0xffff) {
    end.fill(0xff);
  } else {
    end.writeUInt16BE(partition + 1, 0);
  }
  return { start, end: partition === 0xffff ? end : end.subarray(0, 2) };
}

export function expiryIndexKey(expiresAtMs: number, keyBytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(6 + keyBytes.length);
  out.writeUIntBE(expiresAtMs, 0, 6);
  out.set(keyBytes, 6);
  return out;
}

/** The smallest byte string greater than every string starting with `prefix` (undefined: none). */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}
