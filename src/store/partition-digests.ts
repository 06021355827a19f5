// Per-partition digests: what two replicas compare to learn, without sending any keys, whether
// they hold the same data for a partition. A partition's digest is the XOR of a 64-bit
// fingerprint of every record in it (tombstones included), so it does not depend on the order
// records arrived in, and a store keeps it current in O(1) per write: XOR the replaced record's
// fingerprint out and the new one in. The stores own one of these tables and update it on every
// change; anti-entropy reads it.
//
// A fingerprint covers the key and the version (wall ms, counter, writing node) and the tombstone
// flag. Versions are unique per write, so equal fingerprints mean the same write; the value bytes
// need not be hashed. The fingerprint's input layout and seeds are part of the peer protocol:
// nodes of one cluster must compute identical fingerprints, or every partition looks different.

import type { PartitionSummary } from '../store/store.js';
import type { Version } from '../store/version.js';
import { murmur3 } from './murmur3.js';

/** Seeds of the fingerprint's two 32-bit halves (protocol constants: never change them). */
const FINGERPRINT_SEED_HIGH = 0x6469_6731;
const FINGERPRINT_SEED_LOW = 0x6469_6732;
const DIGEST_HEX_CHARS = 16;
/** The digest of a partition that holds nothing. */
export const EMPTY_DIGEST = '0'.repeat(DIGEST_HEX_CHARS);

/** A record's 64-bit fingerprint as two unsigned 32-bit halves. */
export interface Fingerprint {
  high: number;
  low: number;
}

/**
 * The fingerprint of one stored record. Input bytes: key length (u32 BE), key, version wall ms
 * (u48 BE), version counter (u32 BE), tombstone flag (u8), writing node's name (UTF-8, last so it
 * needs no length).
 */
export function recordFingerprint(
  keyBytes: Uint8Array,
  record: { version: Version; tombstone: boolean },
): Fingerprint {
  const node = Buffer.from(record.version.node, 'utf8');
  const input = Buffer.allocUnsafe(4 + keyBytes.length + 6 + 4 + 1 + node.length);
  let offset = input.writeUInt32BE(keyBytes.length, 0);
  input.set(keyBytes, offset);
  offset += keyBytes.length;
  offset = input.writeUIntBE(record.version.wallMs, offset, 6);
  offset = input.writeUInt32BE(record.version.counter, offset);
  offset = input.writeUInt8(record.tombstone ? 1 : 0, offset);
  node.copy(input, offset);
  return {
    high: murmur3(input, FINGERPRINT_SEED_HIGH),
    low: murmur3(input, FINGERPRINT_SEED_LOW),
  };
}

export class PartitionDigests {
  /** Per partition: the digest's high half, then its low half. */
  private readonly halves: Uint32Array;
  /** Per partition: records held, tombstones included. */
  private readonly counts: Float64Array;

  constructor(readonly partitions: number) {
    this.halves = new Uint32Array(partitions * 2);
    this.counts = new Float64Array(partitions);
  }

  /** A record entered the partition. */
  add(partition: number, fingerprint: Fingerprint): void {
    this.toggle(partition, fingerprint);
    this.counts[partition] = this.count(partition) + 1;
  }

  /** A record left the partition (replaced by a newer version, or purged). */
  remove(partition: number, fingerprint: Fingerprint): void {
    this.checkPartition(partition);
    if (this.count(partition) < 1) {
      throw new Error(`partition digest invariant: remove from empty partition ${partition}`);
    }
    this.toggle(partition, fingerprint);
    this.counts[partition] = this.count(partition) - 1;
  }

  /** Forgets the partition, before it is summed up again from the stored records. */
  clear(partition: number): void {
    this.checkPartition(partition);
    this.halves[partition * 2] = 0;
    this.halves[partition * 2 + 1] = 0;
    this.counts[partition] = 0;
  }

  summary(partition: number): PartitionSummary {
    this.checkPartition(partition);
    const high = this.halves[partition * 2] ?? 0;
    const low = this.halves[partition * 2 + 1] ?? 0;
    return {
      partition,
      keys: this.count(partition),
      digest: high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0'),
    };
  }

  /** Summaries of the partitions holding at least one record, in partition order. */
  nonEmpty(): PartitionSummary[] {
    return this.held().map((partition) => this.summary(partition));
  }

  /** The partitions holding at least one record, in partition order. */
  held(): number[] {
    const out: number[] = [];
    for (let partition = 0; partition < this.partitions; partition++) {
      if (this.count(partition) > 0) out.push(partition);
    }
    return out;
  }

  private count(partition: number): number {
    return this.counts[partition] ?? 0;
  }

  private toggle(partition: number, fingerprint: Fingerprint): void {
    this.checkPartition(partition);
    this.halves[partition * 2] = (this.halves[partition * 2] ?? 0) ^ fingerprint.high;
    this.halves[partition * 2 + 1] = (this.halves[partition * 2 + 1] ?? 0) ^ fingerprint.low;
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new RangeError(`partition ${partition} is not in 0..${this.partitions - 1}`);
    }
  }
}
