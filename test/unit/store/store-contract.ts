// One contract suite, run against every Store implementation (memory and LMDB), so the simulator
// and unit tests exercise exactly the behaviour real nodes have.

import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../src/store/partition.js';
import type { StoredRecord } from '../../../src/store/record.js';
import type { Store } from '../../../src/store/store.js';

export const PARTITIONS = 16;

export function record(key: string, wallMs: number, overrides: Partial<StoredRecord> = {}): StoredRecord {
  return {
    key,
    value: Buffer.from(`value of ${key} at ${wallMs}`),
    contentType: 'text/plain',
    version: { wallMs, counter: 0, node: 'n1' },
    tombstone: false,
    expiresAtMs: 0,
    ...overrides,
  };
}

export function storeContract(name: string, openStore: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    it('returns what was applied, byte for byte', async () => {
      const store = await openStore();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.apply(record('bin', 1, { value: bytes, contentType: 'application/x-thing' }));
      const got = store.get('bin');
      expect(got?.value.equals(bytes)).toBe(true);
      expect(got?.contentType).toBe('application/x-thing');
      expect(got?.version).toEqual({ wallMs: 1, counter: 0, node: 'n1' });
      expect(store.get('other')).toBeUndefined();
      await store.close();
    });

    it('keeps the newest version whatever order writes arrive in (last writer wins)', async () => {
      const store = await openStore();
      expect(await store.apply(record('k', 20))).toBe(true);
      expect(await store.apply(record('k', 10))).toBe(false);
      expect(await store.apply(record('k', 20))).toBe(false);
      expect(store.get('k')?.version.wallMs).toBe(20);
      // Equal wall time and counter: the node name decides.
      expect(await store.apply(record('k', 20, { version: { wallMs: 20, counter: 0, node: 'n2' } }))).toBe(true);
      expect(store.get('k')?.version.node).toBe('n2');
      await store.close();
    });

    it('decides concurrent writes to one key by version, not by arrival', async () => {
      const store = await openStore();
      const writes = [5, 9, 1, 7, 3].map((t) => store.apply(record('race', t)));
      await Promise.all(writes);
      expect(store.get('race')?.version.wallMs).toBe(9);
      await store.close();
    });

    it('keeps deletes as tombstones that win over older writes', async () => {
      const store = await openStore();
      await store.apply(record('gone', 1));
      await store.apply(record('gone', 2, { tombstone: true, value: Buffer.alloc(0) }));
      await store.apply(record('gone', 1));
      expect(store.get('gone')?.tombstone).toBe(true);
      expect(store.liveKeyCount()).toBe(0);
      await store.close();
    });

    it('lists live keys in byte order, by prefix, page after page', async () => {
      const store = await openStore();
      const keys = ['a/1', 'a/2', 'a/3', 'a/€', 'a/z', 'b/1', 'a'];
      for (const [i, key] of keys.entries()) await store.apply(record(key, i + 1));
      await store.apply(record('a/2', 100, { tombstone: true }));
      await store.apply(record('a/3', 100, { expiresAtMs: 50 }));

      const all = store.list({ prefix: 'a/', limit: 100, nowMs: 60, scanMax: 1000 });
      expect(all).toEqual({ keys: ['a/1', 'a/z', 'a/€'], resumeAfter: undefined });

      const first = store.list({ prefix: 'a/', limit: 1, nowMs: 60, scanMax: 1000 });
      expect(first.keys).toEqual(['a/1']);
      const rest = store.list({ prefix: 'a/', after: first.resumeAfter, limit: 100, nowMs: 60, scanMax: 1000 });
      expect(rest.keys).toEqual(['a/z', 'a/€']);
      await store.close();
    });

    it('bounds the records a page examines and resumes where it stopped', async () => {
      const store = await openStore();
      for (let i = 0; i < 10; i++) await store.apply(record(`t/${i}`, 1, { tombstone: i < 8 }));
      const page = store.list({ prefix: 't/', limit: 100, nowMs: 0, scanMax: 5 });
      expect(page.keys).toEqual([]);
      expect(page.resumeAfter).toBe('t/4');
      const next = store.list({ prefix: 't/', after: page.resumeAfter, limit: 100, nowMs: 0, scanMax: 5 });
      expect(next).toEqual({ keys: ['t/8', 't/9'], resumeAfter: undefined });
      await store.close();
    });

    it('scans a partition: exactly the keys hashed to it, tombstones included', async () => {
      const store = await openStore();
      const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
      for (const key of keys) await store.apply(record(key, 1, { tombstone: key.endsWith('7') }));
      for (let p = 0; p < PARTITIONS; p++) {
        const scanned = [...store.scanPartition(p)].map((r) => r.key);
        const expected = keys
          .filter((k) => partitionOf(Buffer.from(k), PARTITIONS) === p)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(scanned).toEqual(expected);
      }
      await store.close();
    });

    it('purges expired records in bounded batches and leaves the rest', async () => {
      const store = await openStore();
      for (let i = 0; i < 10; i++) await store.apply(record(`e${i}`, 1, { expiresAtMs: 100 + i }));
      await store.apply(record('forever', 1));
      // A rewrite with a later expiry must not be purged at the old time.
      await store.apply(record('e0', 2, { expiresAtMs: 1_000 }));
      expect(store.liveKeyCount()).toBe(11);
      expect(await store.purgeExpired(104, 3)).toBe(3);
      expect(await store.purgeExpired(104, 100)).toBe(1);
      expect(store.get('e0')?.expiresAtMs).toBe(1_000);
      expect(store.get('e1')).toBeUndefined();
      expect(store.get('e5')).toBeDefined();
      expect(store.liveKeyCount()).toBe(7);
      await store.close();
    });

    it('counts live keys through puts, overwrites and deletes', async () => {
      const store = await openStore();
      await store.apply(record('x', 1));
      await store.apply(record('x', 2));
      await store.apply(record('y', 1));
      expect(store.liveKeyCount()).toBe(2);
      await store.apply(record('x', 3, { tombstone: true }));
      expect(store.liveKeyCount()).toBe(1);
      await store.apply(record('x', 4));
      expect(store.liveKeyCount()).toBe(2);
      await store.close();
    });
  });
}
