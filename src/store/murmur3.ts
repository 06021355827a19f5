// MurmurHash3 (x86, 32-bit), Austin Appleby's public-domain hash. Replication uses it where every
// node must compute the same number from the same bytes, forever: rendezvous scores (who holds a
// partition) and record fingerprints (partition digests). It is fast and well mixed, which is what
// both need; it is not collision-resistant against someone crafting inputs, which neither relies
// on (a forged collision could at worst hide one divergence from one digest comparison).

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The hash of `bytes` under `seed`, as an unsigned 32-bit number. */
export function murmur3(bytes: Uint8Array, seed: number): number {
  let h = seed | 0;
  const length = bytes.length;
  const blocksEnd = length & ~3;
  for (let i = 0; i < blocksEnd; i += 4) {
    let k =
      (bytes[i] ?? 0) |
      ((bytes[i + 1] ?? 0) << 8) |
      ((bytes[i + 2] ?? 0) << 16) |
      ((bytes[i + 3] ?? 0) << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocksEnd + 2] ?? 0) << 16;
    if (tail >= 2) k ^= (bytes[blocksEnd + 1] ?? 0) << 8;
    k ^= bytes[blocksEnd] ?? 0;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  return fmix32(h);
}

/** MurmurHash3's finalizer: spreads every input bit over all 32 output bits. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
