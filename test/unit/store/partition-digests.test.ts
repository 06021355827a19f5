import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  EMPTY_DIGEST,
  PartitionDigests,
  recordFingerprint,
  type Fingerprint,
} from '../../../src/store/partition-digests.js';
import { LmdbStore } from '../../../src/store/lmdb-store.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { Version } from '../../../src/store/version.js';
import { PARTITIONS, record } from '../store/store-contract.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-digest-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const VERSION: Version = { wallMs: 1_700_000_000_000, counter: 3, node: 'shoal-0' };

function fingerprint(key: string, version: Version = VERSION, tombstone = false): Fingerprint {
  return recordFingerprint(Buffer.from(key), { version, tombstone });
}

function digestOf(...fingerprints: Fingerprint[]): string {
  const digests = new PartitionDigests(1);
  for (const f of fingerprints) digests.add(0, f);
  return digests.summary(0).digest;
}

describe('record fingerprints', () => {
  it('are the same on every node and every release (a known answer)', () => {
    // Peers compare digests, so this value is part of the protocol: if it changes, nodes of
    // different releases see every partition as different.
    expect(digestOf(fingerprint('user/42'))).toBe('6932d88405becd6a');
    expect(digestOf(fingerprint('user/42', VERSION, true))).toBe('b45441732b51b901');
  });

  it('change with the key, each part of the version and the tombstone flag', () => {
    const variants = [
      fingerprint('user/42'),
      fingerprint('user/43'),
      fingerprint('user/42', { ...VERSION, wallMs: VERSION.wallMs + 1 }),
      fingerprint('user/42', { ...VERSION, counter: 4 }),
      fingerprint('user/42', { ...VERSION, node: 'shoal-1' }),
      fingerprint('user/42', VERSION, true),
      // Where the key ends and the node name begins is not ambiguous.
      fingerprint('ab', { ...VERSION, node: 'c' }),
      fingerprint('a', { ...VERSION, node: 'bc' }),
    ];
    expect(new Set(variants.map((f) => digestOf(f))).size).toBe(variants.length);
  });
});

describe('partition digests', () => {
  it('do not depend on the order records were added in, and removing undoes adding', () => {
    const entry = fc.record({
      key: fc.string({ maxLength: 20 }),
      wallMs: fc.nat(),
      counter: fc.nat(),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 30 }),
        fc.array(entry, { maxLength: 10 }),
        (kept, transient) => {
          const fingerprints = kept.map((e) => fingerprint(e.key, { ...VERSION, ...e }));
          const extra = transient.map((e) => fingerprint(e.key, { ...VERSION, ...e }));
          const forward = new PartitionDigests(2);
          const backward = new PartitionDigests(2);
          for (const f of [...fingerprints, ...extra]) forward.add(1, f);
          for (const f of [...extra, ...fingerprints].reverse()) backward.add(1, f);
          for (const f of extra) forward.remove(1, f);
          for (const f of extra) backward.remove(1, f);
          const expected = new PartitionDigests(2);
          for (const f of fingerprints) expected.add(1, f);
          expect(forward.summary(1)).toEqual(expected.summary(1));
          expect(backward.summary(1)).toEqual(expected.summary(1));
          expect(forward.summary(1).keys).toBe(kept.length);
          expect(forward.summary(0)).toEqual({ partition: 0, keys: 0, digest: EMPTY_DIGEST });
        },
      ),
    );
  });

  it('refuse to remove from an empty partition or to touch one that does not exist', () => {
    const digests = new PartitionDigests(4);
    expect(() => digests.remove(2, fingerprint('k'))).toThrow(/invariant/);
    expect(() => digests.add(4, fingerprint('k'))).toThrow(RangeError);
    expect(() => digests.summary(-1)).toThrow(RangeError);
  });
});

describe('digests kept by the LMDB store', () => {
  it('are the same after a reopen, summed up again from disk', async () => {
    const dir = freshDir();
    const store = await LmdbStore.open(dir, PARTITIONS);
    const memory = new MemoryStore(PARTITIONS);
    for (let i = 0; i < 80; i++) {
      const write = record(`doc/${i}`, 1 + (i % 5), {
        tombstone: i % 9 === 0,
        expiresAtMs: i % 4 === 0 && i % 9 !== 0 ? 10_000 : 0,
      });
      await store.apply(write);
      await memory.apply(write);
    }
    await store.apply(record('doc/3', 50));
    await memory.apply(record('doc/3', 50));
    const before = store.partitionSummaries();
    expect(before).toEqual(memory.partitionSummaries());
    await store.close();

    const reopened = await LmdbStore.open(dir, PARTITIONS);
    expect(reopened.partitionSummaries()).toEqual(before);
    // And they keep being maintained after the reopen.
    await reopened.apply(record('doc/4', 60, { tombstone: true }));
    await memory.apply(record('doc/4', 60, { tombstone: true }));
    const expired = [...Array.from({ length: PARTITIONS }, (_, p) => [...memory.scanPartition(p)])]
      .flat()
      .filter((r) => r.expiresAtMs !== 0);
    expect(expired.length).toBeGreaterThan(0);
    expect(await reopened.removeExact(expired)).toBe(await memory.removeExact(expired));
    expect(reopened.partitionSummaries()).toEqual(memory.partitionSummaries());
    await reopened.close();
  });

  it('do not keep a write that LMDB failed to commit', async () => {
    const store = await LmdbStore.open(freshDir(), PARTITIONS);
    await store.apply(record('kept', 1));
    const before = store.partitionSummaries();
    // Failure injection: the records database refuses the next write, as on a full disk.
    const put = vi
      .spyOn(store['records'], 'put')
      .mockImplementationOnce(() => Promise.reject(new Error('disk full')));
    await expect(store.apply(record('kept', 2))).rejects.toThrow('disk full');
    expect(store.partitionSummaries()).toEqual(before);
    expect(store.get('kept')?.version.wallMs).toBe(1);

    put.mockImplementationOnce(() => Promise.reject(new Error('disk full')));
    await expect(store.apply(record('new-key', 1))).rejects.toThrow('disk full');
    expect(store.partitionSummaries()).toEqual(before);

    put.mockRestore();
    await store.apply(record('new-key', 2));
    const reference = new MemoryStore(PARTITIONS);
    await reference.apply(record('kept', 1));
    await reference.apply(record('new-key', 2));
    expect(store.partitionSummaries()).toEqual(reference.partitionSummaries());
    await store.close();
  });
});
