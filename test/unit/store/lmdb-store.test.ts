import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbStore, PartitionCountMismatchError } from '../../../src/store/lmdb-store.js';
import { PARTITIONS, record, storeContract } from './store-contract.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-lmdb-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('lmdb', () => LmdbStore.open(freshDir(), PARTITIONS));

describe('lmdb store on disk', () => {
  it('keeps records, tombstones, counts and indexes across a reopen', async () => {
    const dir = freshDir();
    const first = await LmdbStore.open(dir, PARTITIONS);
    await first.apply(record('kept', 1, { expiresAtMs: 500 }));
    await first.apply(record('deleted', 1));
    await first.apply(record('deleted', 2, { tombstone: true }));
    await first.close();

    const second = await LmdbStore.open(dir, PARTITIONS);
    expect(second.get('kept')?.value.toString()).toBe('value of kept at 1');
    expect(second.get('deleted')?.tombstone).toBe(true);
    expect(second.liveKeyCount(0)).toBe(1);
    // The expiry index came back too: the record is no longer live once due.
    expect(second.liveKeyCount(499)).toBe(1);
    expect(second.liveKeyCount(500)).toBe(0);
    await second.close();
  });

  it('refuses a record its layout cannot hold, and changes nothing', async () => {
    const store = await LmdbStore.open(freshDir(), PARTITIONS);
    await store.apply(record('k', 1));
    const partition = store.partitionSummaries()[0];
    const tooLarge = record('k', 2, { version: { wallMs: 2, counter: 2 ** 32, node: 'n1' } });
    await expect(store.apply(tooLarge)).rejects.toThrow(/counter/);
    expect(store.partitionSummaries()).toEqual([partition]);
    // The key takes a valid newer write as before.
    expect(await store.apply(record('k', 3))).toBe(true);
    expect(store.get('k')?.version.wallMs).toBe(3);
    await store.close();
  });

  it('opens empty once a hand-off it noted is older than the grace period, and not before', async () => {
    const dir = freshDir();
    const handedOffAtMs = 1_000_000;
    const grace = 60_000;
    const openAt = (nowMs: number): Promise<LmdbStore> =>
      LmdbStore.open(dir, PARTITIONS, { forgetHandedOffAfterMs: grace, wallClock: () => nowMs });
    const first = await openAt(handedOffAtMs);
    await first.apply(record('a', 1, { expiresAtMs: 5_000_000 }));
    await first.apply(record('b', 2, { tombstone: true }));
    await first.markHandedOff(handedOffAtMs);
    await first.close();

    // Back within the grace period: nothing deleted meanwhile can have been forgotten.
    const soon = await openAt(handedOffAtMs + grace - 1);
    expect(soon.forgotten).toBeUndefined();
    expect(soon.get('a')?.value.toString()).toBe('value of a at 1');
    await soon.markHandedOff(handedOffAtMs);
    await soon.close();

    const late = await openAt(handedOffAtMs + grace);
    expect(late.forgotten).toEqual({ handedOffAtMs, records: 2 });
    expect(late.get('a')).toBeUndefined();
    expect(late.get('b')).toBeUndefined();
    expect(late.partitionSummaries()).toEqual([]);
    expect(late.liveKeyCount(0)).toBe(0);
    // The expiry index was emptied too: an entry left for `a` would count against live keys.
    expect(late.liveKeyCount(10_000_000)).toBe(0);
    await late.apply(record('c', 3));
    await late.close();

    // The note is gone: what was written since stays.
    const again = await openAt(handedOffAtMs + 10 * grace);
    expect(again.forgotten).toBeUndefined();
    expect(again.get('c')?.value.toString()).toBe('value of c at 3');
    await again.close();
  });

  it("keeps the clock's reservation across a reopen", async () => {
    const dir = freshDir();
    const first = await LmdbStore.open(dir, PARTITIONS);
    expect(first.clockReservation().reservedUntilMs).toBeUndefined();
    first.clockReservation().reserve(1_234_567);
    await first.close();
    const second = await LmdbStore.open(dir, PARTITIONS);
    expect(second.clockReservation().reservedUntilMs).toBe(1_234_567);
    await second.close();
  });

  it('refuses to open a data directory made with another partition count', async () => {
    const dir = freshDir();
    await (await LmdbStore.open(dir, PARTITIONS)).close();
    await expect(LmdbStore.open(dir, PARTITIONS * 2)).rejects.toBeInstanceOf(
      PartitionCountMismatchError,
    );
    const again = await LmdbStore.open(dir, PARTITIONS);
    await again.close();
  });
});
