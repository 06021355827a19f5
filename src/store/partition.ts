// A key's partition: a stable hash of its UTF-8 bytes, modulo the fixed partition count. Every
// node and every version of shoal must compute the same number, so the function never changes.

/** FNV-1a (32-bit) over the bytes, then murmur3's finalizer to spread the low bits evenly. */
export function keyHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function partitionOf(keyBytes: Uint8Array, partitions: number): number {
  return keyHash(keyBytes) % partitions;
}
