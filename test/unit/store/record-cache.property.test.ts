// The record cache against a plain model of its rule: first in, first out by bytes held, a
// rewritten key counting as new, values over the per-value limit never cached.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECORD_CACHE_VALUE_BYTES_MAX, RecordCache } from '../../../src/store/record-cache.js';
import type { StoredRecord } from '../../../src/store/record.js';

function record(key: string, valueBytes: number): StoredRecord {
  return {
    key,
    value: Buffer.alloc(valueBytes),
    contentType: 'application/octet-stream',
    version: { wallMs: 1, counter: 0, node: 'n' },
    tombstone: false,
    expiresAtMs: 0,
  };
}

/** The rule, spelled out with a Map's insertion order (re-inserting moves a key to the end). */
class ModelCache {
  readonly entries = new Map<string, StoredRecord>();
  constructor(private readonly bytesMax: number) {}
  set(r: StoredRecord): void {
    this.entries.delete(r.key);
    if (r.value.length > RECORD_CACHE_VALUE_BYTES_MAX) return;
    this.entries.set(r.key, r);
    while (this.bytes() > this.bytesMax) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
  private bytes(): number {
    let sum = 0;
    for (const r of this.entries.values()) sum += r.value.length + r.key.length * 2 + 128;
    return sum;
  }
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
const arbOp = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key: fc.constantFrom(...KEYS),
      valueBytes: fc.oneof(
        fc.integer({ min: 0, max: 400 }),
        fc.constant(RECORD_CACHE_VALUE_BYTES_MAX + 1),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  },
);

describe('the record cache', () => {
  it('holds exactly what the first-in-first-out rule keeps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.array(arbOp, { maxLength: 1_000 }),
        (bytesMax, ops) => {
          const cache = new RecordCache(bytesMax);
          const model = new ModelCache(bytesMax);
          for (const op of ops) {
            if (op.kind === 'set') {
              const r = record(op.key, op.valueBytes);
              cache.set(r);
              model.set(r);
            } else {
              cache.delete(op.key);
              model.delete(op.key);
            }
            for (const key of KEYS) expect(cache.get(key)).toBe(model.entries.get(key));
            expect(cache.size).toBe(model.entries.size);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('still evicts the oldest first after many rewrites', () => {
    const entryBytes = 100 + 2 + 128; // value, one-character key (UTF-16), overhead
    const cache = new RecordCache(KEYS.length * entryBytes);
    for (const key of KEYS) cache.set(record(key, 100));
    // Every key but the first is rewritten over and over: `a` stays the oldest.
    for (let round = 0; round < 50; round++) {
      for (const key of KEYS.slice(1)) cache.set(record(key, 100));
    }
    cache.set(record('z', 100));
    expect(cache.get('a')).toBeUndefined();
    for (const key of [...KEYS.slice(1), 'z']) expect(cache.get(key)?.key).toBe(key);
    cache.set(record('a', 100));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.key).toBe('a');
  });

  it('keeps its bookkeeping bounded when the same keys are rewritten without end', () => {
    const cache = new RecordCache(1_000_000);
    for (let i = 0; i < 200_000; i++) cache.set(record(KEYS[i % KEYS.length] as string, 10));
    expect(cache.size).toBe(KEYS.length);
    const order = (cache as unknown as { order: unknown[]; head: number }).order;
    const head = (cache as unknown as { head: number }).head;
    expect(order.length - head).toBeLessThanOrEqual(2 * KEYS.length + 64);
  });

  it('lets go of what it evicted when every write is a new key', () => {
    const cache = new RecordCache(10_000);
    for (let i = 0; i < 100_000; i++) cache.set(record(`new-${i}`, 10));
    const order = (cache as unknown as { order: unknown[] }).order;
    // The records evicted long ago are no longer reachable from the cache.
    expect(order.length).toBeLessThanOrEqual(2 * cache.size + 64);
  });

  it('does not keep a large network chunk alive for a small value read from it', () => {
    // A value decoded from a peer frame or an HTTP body is a view into the read chunk.
    const chunk = Buffer.alloc(64 * 1024, 7);
    chunk.write('the value', 1_000);
    const fromNetwork = { ...record('k', 0), value: chunk.subarray(1_000, 1_009) };
    const cache = new RecordCache(1_000_000);
    cache.set(fromNetwork);
    const cached = cache.get('k');
    expect(cached?.value.toString()).toBe('the value');
    expect(cached?.value.buffer).not.toBe(chunk.buffer);
    expect({ ...cached, value: undefined }).toEqual({ ...fromNetwork, value: undefined });
    chunk.fill(0);
    expect(cached?.value.toString()).toBe('the value');
  });
});
