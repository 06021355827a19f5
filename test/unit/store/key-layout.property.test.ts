import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeKey,
  encodeKey,
  expiryIndexKey,
  parsePartitionIndexKey,
  partitionIndexKey,
  partitionRange,
  prefixEnd,
} from '../../../src/store/key-layout.js';
import { partitionOf } from '../../../src/store/partition.js';
import { decodeRecord, encodeRecord } from '../../../src/store/record-codec.js';
import { StoreCorruptionError } from '../../../src/store/store-error.js';

const key = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 });
const partition = fc.integer({ min: 0, max: 0xffff });

describe('key layout', () => {
  it('round-trips keys through UTF-8 bytes', () => {
    fc.assert(
      fc.property(key, (k) => {
        expect(decodeKey(encodeKey(k))).toBe(k);
      }),
    );
  });

  it('round-trips partition index keys and keeps each partition a contiguous range', () => {
    fc.assert(
      fc.property(partition, key, (p, k) => {
        const indexKey = partitionIndexKey(p, encodeKey(k));
        expect(parsePartitionIndexKey(indexKey)).toEqual({ partition: p, key: k });
        const { start, end } = partitionRange(p);
        expect(Buffer.compare(indexKey, start)).toBeGreaterThanOrEqual(0);
        expect(Buffer.compare(indexKey, end)).toBeLessThan(0);
      }),
    );
  });

  it('orders partition index keys by partition, then by key bytes', () => {
    fc.assert(
      fc.property(partition, key, partition, key, (p1, k1, p2, k2) => {
        const a = partitionIndexKey(p1, encodeKey(k1));
        const b = partitionIndexKey(p2, encodeKey(k2));
        const expected =
          p1 !== p2 ? Math.sign(p1 - p2) : Math.sign(Buffer.compare(encodeKey(k1), encodeKey(k2)));
        expect(Math.sign(Buffer.compare(a, b))).toBe(expected);
      }),
    );
  });

  it('makes expiry index keys of the time and the key, ordered by time first', () => {
    const time = fc.integer({ min: 0, max: 2 ** 48 - 1 });
    fc.assert(
      fc.property(time, key, time, key, (t1, k1, t2, k2) => {
        const a = expiryIndexKey(t1, encodeKey(k1));
        expect(a.readUIntBE(0, 6)).toBe(t1);
        expect(decodeKey(a.subarray(6))).toBe(k1);
        if (t1 !== t2)
          expect(Math.sign(Buffer.compare(a, expiryIndexKey(t2, encodeKey(k2))))).toBe(
            Math.sign(t1 - t2),
          );
      }),
    );
  });

  it('prefixEnd bounds exactly the keys that start with the prefix', () => {
    fc.assert(
      fc.property(key, key, (prefix, k) => {
        const p = encodeKey(prefix);
        const end = prefixEnd(p);
        const bytes = encodeKey(k);
        const inside =
          Buffer.compare(bytes, p) >= 0 && (end === undefined || Buffer.compare(bytes, end) < 0);
        expect(inside).toBe(bytes.subarray(0, p.length).equals(p));
      }),
    );
  });

  it('spreads keys over partitions evenly and deterministically', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256_000; i++) {
      const p = partitionOf(encodeKey(`user:${i}`), 256);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    // Fair share is 1000 per partition; a sound hash stays within a few standard deviations.
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
    expect(partitionOf(encodeKey('stable'), 256)).toBe(partitionOf(encodeKey('stable'), 256));
  });
});

describe('record codec', () => {
  const record = fc
    .record({
      key: key,
      value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      contentType: fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
      version: fc.record({
        wallMs: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        counter: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        node: fc.stringMatching(/^[a-z0-9-]{1,40}$/),
      }),
      tombstone: fc.boolean(),
      expiresAtMs: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    })
    // A tombstone carries no expiry.
    .map((r) => (r.tombstone ? { ...r, expiresAtMs: 0 } : r));

  it('round-trips every record', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(decodeRecord(r.key, encodeRecord(r))).toEqual(r);
      }),
    );
  });

  it('rejects corrupt bytes with its own error, never another one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeRecord('k', Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(StoreCorruptionError);
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
