// A key's partition: a stable hash of its UTF-8 bytes, modulo the fixed partition count. Every
// node and every version of shoal must compute the same number, so the function never changes.

import { fmix32 } from './murmur3.js';

/** FNV-1a (32-bit) over the bytes, then murmur3's finalizer to spread the low bits evenly. */
export function keyHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function partitionOf(keyBytes: Uint8Array, partitions: number): number {
  return keyHash(keyBytes) % partitions;
}
