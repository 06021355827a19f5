// One contract suite, run against every Store implementation (memory and LMDB), so the simulator
// and unit tests exercise exactly the behaviour real nodes have.

import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../src/store/partition.js';
import type { StoredRecord } from '../../../src/store/record.js';
import type { PartitionSummary, Store } from '../../../src/store/store.js';

export const PARTITIONS = 16;

export function record(
  key: string,
  wallMs: number,
  overrides: Partial<StoredRecord> = {},
): StoredRecord {
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

const DIGEST_FORMAT = /^[0-9a-f]{16}$/;

/** Writes as replicas receive them: several versions per key, deletes, out of order. */
function replicaWrites(): StoredRecord[] {
  const writes: StoredRecord[] = [];
  for (let i = 0; i < 60; i++) {
    writes.push(record(`item/${i}`, 10));
    if (i % 3 === 0) writes.push(record(`item/${i}`, 20 + i));
    if (i % 7 === 0)
      writes.push(record(`item/${i}`, 90, { tombstone: true, value: Buffer.alloc(0) }));
  }
  return writes;
}

/** The summary of the partition that `key` hashes to. */
function summaryOf(store: Store, key: string): PartitionSummary {
  return store.partitionSummary(partitionOf(Buffer.from(key), PARTITIONS));
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
      expect(
        await store.apply(record('k', 20, { version: { wallMs: 20, counter: 0, node: 'n2' } })),
      ).toBe(true);
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
      expect(store.liveKeyCount(0)).toBe(0);
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
      const rest = store.list({
        prefix: 'a/',
        after: first.resumeAfter,
        limit: 100,
        nowMs: 60,
        scanMax: 1000,
      });
      expect(rest.keys).toEqual(['a/z', 'a/€']);
      await store.close();
    });

    it('bounds the records a page examines and resumes where it stopped', async () => {
      const store = await openStore();
      for (let i = 0; i < 10; i++) await store.apply(record(`t/${i}`, 1, { tombstone: i < 8 }));
      const page = store.list({ prefix: 't/', limit: 100, nowMs: 0, scanMax: 5 });
      expect(page.keys).toEqual([]);
      expect(page.resumeAfter).toBe('t/4');
      const next = store.list({
        prefix: 't/',
        after: page.resumeAfter,
        limit: 100,
        nowMs: 0,
        scanMax: 5,
      });
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
        // From any key on, the rest of the partition (a page boundary in anti-entropy).
        const middle = expected[Math.floor(expected.length / 2)];
        if (middle !== undefined) {
          expect([...store.scanPartition(p, middle)].map((r) => r.key)).toEqual(
            expected.slice(expected.indexOf(middle) + 1),
          );
          // A key that is not stored works as a bound too: `key-50a` sorts between stored keys.
          expect([...store.scanPartition(p, 'key-50a')].map((r) => r.key)).toEqual(
            expected.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('key-50a')) > 0),
          );
        }
      }
      await store.close();
    });

    it('removes exactly the versions asked for, keeping newer writes and the digests right', async () => {
      const store = await openStore();
      const twin = await openStore();
      for (const r of [record('a', 1), record('b', 1), record('c', 1, { tombstone: true })]) {
        await store.apply(r);
      }
      await store.apply(record('b', 2));
      await twin.apply(record('b', 2));
      // `b` was rewritten after the caller looked at version 1: it stays.
      expect(
        await store.removeExact([
          { key: 'a', version: record('a', 1).version },
          { key: 'b', version: record('b', 1).version },
          { key: 'c', version: record('c', 1).version },
          { key: 'missing', version: record('missing', 1).version },
        ]),
      ).toBe(2);
      expect(store.get('a')).toBeUndefined();
      expect(store.get('c')).toBeUndefined();
      expect(store.get('b')?.version.wallMs).toBe(2);
      expect(store.liveKeyCount(0)).toBe(1);
      expect(store.partitionSummaries()).toEqual(twin.partitionSummaries());
      expect(store.heldPartitions()).toEqual(
        twin.partitionSummaries().map((summary) => summary.partition),
      );
      expect(
        [...store.scanPartition(partitionOf(Buffer.from('a'), PARTITIONS))].map((r) => r.key),
      ).not.toContain('a');
      await store.close();
      await twin.close();
    });

    it('counts expired records as not live, purged or not, and a rewrite by its new expiry', async () => {
      const store = await openStore();
      for (let i = 0; i < 10; i++) await store.apply(record(`e${i}`, 1, { expiresAtMs: 100 + i }));
      await store.apply(record('forever', 1));
      // A rewrite with a later expiry is live until then.
      await store.apply(record('e0', 2, { expiresAtMs: 1_000 }));
      expect(store.liveKeyCount(0)).toBe(11);
      expect(store.liveKeyCount(104)).toBe(7);
      // Purged as anti-entropy purges them: exactly the records it read.
      const expired = ['e1', 'e2', 'e3', 'e4'].map((key) => store.get(key) as StoredRecord);
      expect(await store.removeExact(expired)).toBe(4);
      expect(store.get('e1')).toBeUndefined();
      expect(store.get('e0')?.expiresAtMs).toBe(1_000);
      expect(store.liveKeyCount(104)).toBe(7);
      expect(store.liveKeyCount(999)).toBe(2);
      expect(store.liveKeyCount(1_000)).toBe(1);
      await store.close();
    });

    it('has no partition summaries while empty', async () => {
      const store = await openStore();
      expect(store.partitionSummaries()).toEqual([]);
      expect(store.heldPartitions()).toEqual([]);
      expect(store.partitionSummary(3)).toEqual({
        partition: 3,
        keys: 0,
        digest: '0000000000000000',
      });
      await store.close();
    });

    it('gives equal partition digests to stores that received the same writes in different orders', async () => {
      const writes = replicaWrites();
      const first = await openStore();
      const second = await openStore();
      for (const write of writes) await first.apply(write);
      for (const write of [...writes].reverse()) await second.apply(write);

      const summaries = first.partitionSummaries();
      expect(second.partitionSummaries()).toEqual(summaries);
      // Every key counts once, at its newest version, tombstones included.
      for (const summary of summaries) {
        expect(summary.digest).toMatch(DIGEST_FORMAT);
        expect(summary.keys).toBe([...first.scanPartition(summary.partition)].length);
      }
      expect(summaries.reduce((sum, s) => sum + s.keys, 0)).toBe(60);
      expect(summaries.map((s) => s.partition)).toEqual(
        [...new Set(writes.map((w) => partitionOf(Buffer.from(w.key), PARTITIONS)))].sort(
          (a, b) => a - b,
        ),
      );
      expect(new Set(summaries.map((s) => s.digest)).size).toBe(summaries.length);
      await first.close();
      await second.close();
    });

    it('tells stores apart when one holds another version of a key, or a tombstone', async () => {
      const first = await openStore();
      const second = await openStore();
      for (const write of replicaWrites()) {
        await first.apply(write);
        await second.apply(write);
      }
      const key = 'item/1';
      const before = summaryOf(first, key);

      // A newer version on one side: same key count, different digest, other partitions untouched.
      await second.apply(record(key, 500));
      expect(summaryOf(second, key).keys).toBe(before.keys);
      expect(summaryOf(second, key).digest).not.toBe(before.digest);
      const others = (store: Store): PartitionSummary[] =>
        store.partitionSummaries().filter((s) => s.partition !== before.partition);
      expect(others(second)).toEqual(others(first));

      // The same version written by another node is another write.
      await first.apply(record(key, 500, { version: { wallMs: 500, counter: 0, node: 'n2' } }));
      expect(summaryOf(first, key).digest).not.toBe(summaryOf(second, key).digest);
      await second.apply(record(key, 500, { version: { wallMs: 500, counter: 0, node: 'n2' } }));
      expect(summaryOf(second, key)).toEqual(summaryOf(first, key));

      // A delete is data too: a tombstone for a live key, then one for a key never written.
      await first.apply(record(key, 600, { tombstone: true, value: Buffer.alloc(0) }));
      expect(summaryOf(first, key).keys).toBe(before.keys);
      expect(summaryOf(first, key).digest).not.toBe(summaryOf(second, key).digest);
      await second.apply(record(key, 600, { tombstone: true, value: Buffer.alloc(0) }));
      expect(summaryOf(second, key)).toEqual(summaryOf(first, key));

      const ghost = 'never-written';
      const ghostBefore = summaryOf(first, ghost);
      await first.apply(record(ghost, 700, { tombstone: true, value: Buffer.alloc(0) }));
      expect(summaryOf(first, ghost).keys).toBe(ghostBefore.keys + 1);
      expect(summaryOf(first, ghost).digest).not.toBe(ghostBefore.digest);
      await first.close();
      await second.close();
    });

    it('takes purged records out of their partition digest', async () => {
      const store = await openStore();
      const reference = await openStore();
      const expired: StoredRecord[] = [];
      for (let i = 0; i < 30; i++) {
        const expiring = i % 2 === 0;
        const written = record(`p/${i}`, 1, { expiresAtMs: expiring ? 100 : 0 });
        await store.apply(written);
        if (expiring) expired.push(written);
        else await reference.apply(record(`p/${i}`, 1));
      }
      expect(store.partitionSummaries()).not.toEqual(reference.partitionSummaries());
      expect(await store.removeExact(expired)).toBe(15);
      expect(store.partitionSummaries()).toEqual(reference.partitionSummaries());
      expect(store.liveKeyCount(100)).toBe(reference.liveKeyCount(100));

      // Purging every record of a partition leaves it empty, as if nothing had been written.
      const lone = await openStore();
      const shortLived = record('short-lived', 1, { expiresAtMs: 50 });
      await lone.apply(shortLived);
      expect(await lone.removeExact([shortLived])).toBe(1);
      expect(lone.partitionSummaries()).toEqual([]);
      await store.close();
      await reference.close();
      await lone.close();
    });

    it('counts a write that arrives while its expired record is being purged exactly once', async () => {
      const store = await openStore();
      const reference = await openStore();
      const expired = record('racy', 1, { expiresAtMs: 100 });
      await store.apply(expired);
      const purging = store.removeExact([expired]);
      const written = store.apply(record('racy', 2));
      expect(await purging).toBe(1);
      expect(await written).toBe(true);
      await reference.apply(record('racy', 2));

      expect(store.get('racy')?.version.wallMs).toBe(2);
      expect(store.liveKeyCount(0)).toBe(1);
      expect(store.partitionSummaries()).toEqual(reference.partitionSummaries());
      expect(
        [...store.scanPartition(partitionOf(Buffer.from('racy'), PARTITIONS))].map((r) => r.key),
      ).toEqual(['racy']);
      await store.close();
      await reference.close();
    });

    it('counts live keys through puts, overwrites and deletes', async () => {
      const store = await openStore();
      await store.apply(record('x', 1));
      await store.apply(record('x', 2));
      await store.apply(record('y', 1));
      expect(store.liveKeyCount(0)).toBe(2);
      await store.apply(record('x', 3, { tombstone: true }));
      expect(store.liveKeyCount(0)).toBe(1);
      await store.apply(record('x', 4));
      expect(store.liveKeyCount(0)).toBe(2);
      await store.close();
    });
  });
}
