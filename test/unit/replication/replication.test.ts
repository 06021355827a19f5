// The replication logic across several coordinators in one process: quorum arithmetic against
// replicas that answer or not, last-writer-wins, read repair, hints, tombstones and their purge,
// anti-entropy filling a new member and a former owner dropping only what the new owners hold.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Consistency } from '../../../src/config.js';
import { PEER_RPC_REPLY_BYTES_MAX } from '../../../src/replication/peer-rpc.js';
import { encodeKey } from '../../../src/store/key-layout.js';
import { partitionOf } from '../../../src/store/partition.js';
import type { StoredRecord } from '../../../src/store/record.js';
import { TEST_PARTITIONS, InProcessCluster } from '../../support/in-process-cluster.js';

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4'];
/** As peer RPC encodes its replies. */
const packr = new Packr({ useRecords: false });

function put(
  cluster: InProcessCluster,
  via: string,
  key: string,
  value: string,
  consistency: Consistency = 'quorum',
) {
  return cluster.node(via).coordinator.put({
    key,
    value: Buffer.from(value),
    contentType: 'text/plain',
    ttlMs: undefined,
    consistency,
  });
}

async function read(
  cluster: InProcessCluster,
  via: string,
  key: string,
  consistency: Consistency = 'quorum',
) {
  return (await cluster.node(via).coordinator.get(key, consistency))?.value.toString();
}

/** A live record written by `node` at `wallMs`: text for a string value, bytes for a Buffer. */
function liveRecord(
  key: string,
  value: string | Buffer,
  wallMs: number,
  node: string,
): StoredRecord {
  const text = typeof value === 'string';
  return {
    key,
    value: text ? Buffer.from(value) : value,
    contentType: text ? 'text/plain' : 'application/octet-stream',
    version: { wallMs, counter: 0, node },
    tombstone: false,
    expiresAtMs: 0,
  };
}

function replicasOfKey(cluster: InProcessCluster, key: string): readonly string[] {
  return cluster.replicasOf(partitionOf(encodeKey(key), TEST_PARTITIONS));
}

/** Who holds the key (any version, tombstones included). */
function holders(cluster: InProcessCluster, key: string): string[] {
  return [...cluster.nodes.values()]
    .filter((n) => n.store.get(key) !== undefined)
    .map((n) => n.name);
}

/** A coordinator that is not a replica of the key, so every replica is remote. */
function outsider(cluster: InProcessCluster, key: string): string {
  const replicas = replicasOfKey(cluster, key);
  const name = NAMES.find((n) => !replicas.includes(n));
  if (name === undefined) throw new Error('every node replicates the key');
  return name;
}

/** Lets requests in flight land: peer batches leave on the next turn of the event loop. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('quorum writes and reads', () => {
  it('stores each key on exactly its N replicas and reads it through any node', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 50; i++) await put(cluster, NAMES[i % 5] as string, `k${i}`, `v${i}`);
    for (let i = 0; i < 50; i++) {
      expect(holders(cluster, `k${i}`).sort()).toEqual([...replicasOfKey(cluster, `k${i}`)].sort());
      expect(await read(cluster, NAMES[(i + 2) % 5] as string, `k${i}`)).toBe(`v${i}`);
    }
  });

  it("counts only the key's replicas: 503 with needed and reached when too few answer", async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'users/1';
    const via = outsider(cluster, key);
    const [a, b, c] = replicasOfKey(cluster, key) as [string, string, string];

    cluster.down.add(a);
    await put(cluster, via, key, 'one down'); // quorum 2 of 3 still answers
    await expect(put(cluster, via, key, 'x', 'all')).rejects.toMatchObject({
      code: 'QUORUM_UNAVAILABLE',
      details: { needed: 3, reached: 2 },
    });
    cluster.down.add(b);
    await expect(put(cluster, via, key, 'x')).rejects.toMatchObject({
      code: 'QUORUM_UNAVAILABLE',
      details: { needed: 2, reached: 1 },
    });
    await expect(cluster.node(via).coordinator.get(key, 'quorum')).rejects.toMatchObject({
      code: 'QUORUM_UNAVAILABLE',
      details: { needed: 2 },
    });
    // `one` works while one replica lives, and sees the newest write that replica has.
    await put(cluster, via, key, 'with one', 'one');
    expect(await read(cluster, via, key, 'one')).toBe('with one');
    cluster.down.add(c);
    await expect(put(cluster, via, key, 'x', 'one')).rejects.toMatchObject({
      details: { needed: 1, reached: 0 },
    });
  });

  it('asks another replica when one does not answer, instead of waiting for it', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'slow';
    const via = outsider(cluster, key);
    await put(cluster, via, key, 'v', 'all');
    // Reads ask R = 2 replicas first; whichever of them hangs, the third is asked soon after.
    for (const paused of replicasOfKey(cluster, key)) {
      cluster.hanging.add(paused);
      expect(await read(cluster, via, key)).toBe('v');
      cluster.hanging.delete(paused);
    }
  });

  it('answers a read with the newest version and repairs the stale replicas', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'config';
    const via = outsider(cluster, key);
    const [a] = replicasOfKey(cluster, key) as [string];
    await put(cluster, via, key, 'old');
    cluster.down.add(a);
    await put(cluster, via, key, 'new');
    cluster.down.delete(a);
    expect(cluster.node(a).store.get(key)?.value.toString()).toBe('old');
    expect(await read(cluster, via, key, 'all')).toBe('new');
    await settle();
    expect(cluster.node(a).store.get(key)?.value.toString()).toBe('new');
  });

  it('lets the last writer win on every replica, whichever order writes arrive in', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'race';
    const [a, b] = replicasOfKey(cluster, key) as [string, string];
    const base = { key, contentType: 'text/plain', tombstone: false, expiresAtMs: 0 };
    // Same wall time and counter: the node name breaks the tie, the same way everywhere.
    const fromN1 = {
      ...base,
      value: Buffer.from('n1'),
      version: { wallMs: 5, counter: 0, node: 'n1' },
    };
    const fromN3 = {
      ...base,
      value: Buffer.from('n3'),
      version: { wallMs: 5, counter: 0, node: 'n3' },
    };
    await cluster.node(a).store.apply(fromN1);
    await cluster.node(a).store.apply(fromN3);
    await cluster.node(b).store.apply(fromN3);
    await cluster.node(b).store.apply(fromN1);
    expect(cluster.node(a).store.get(key)?.value.toString()).toBe('n3');
    expect(cluster.node(b).store.get(key)?.value.toString()).toBe('n3');
  });
});

describe('hints', () => {
  it('keeps a hint for each replica that missed a write, at once for one the cluster holds dead', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'hinted';
    const via = outsider(cluster, key);
    const [a, b] = replicasOfKey(cluster, key) as [string, string];
    cluster.down.add(a);
    cluster.setState(b, 'dead');
    // Were it asked, b would never answer and the writes below would never settle.
    cluster.hanging.add(b);
    await expect(put(cluster, via, key, 'v')).rejects.toMatchObject({ code: 'QUORUM_UNAVAILABLE' });
    await put(cluster, via, key, 'v', 'one');
    await settle();
    const hints = cluster.node(via).hints;
    expect(hints.map((h) => h.target).sort()).toEqual([a, a, b, b].sort());
    expect(hints.at(-1)?.record.value.toString()).toBe('v');
  });

  it('keeps no more hints for a member dead longer than the hint window', async () => {
    let now = 1_000_000;
    // A grace period of 60 s caps the hint window at 60 s.
    const cluster = new InProcessCluster(NAMES, 3, 60_000, () => now);
    const key = 'long-dead';
    const via = outsider(cluster, key);
    const [a, b] = replicasOfKey(cluster, key) as [string, string];
    cluster.setState(a, 'dead');
    await put(cluster, via, key, 'first');
    now += 60_000;
    await put(cluster, via, key, 'second');
    await settle();
    const hintsFor = (name: string): string[] =>
      cluster
        .node(via)
        .hints.filter((h) => h.target === name)
        .map((h) => h.record.value.toString());
    expect(hintsFor(a)).toEqual(['first', 'second']);

    now += 1;
    cluster.down.add(b); // fails now, but is not held dead: it still gets hints
    await put(cluster, via, key, 'third', 'one');
    await settle();
    expect(hintsFor(a)).toEqual(['first', 'second']);
    expect(hintsFor(b)).toEqual(['third']);

    // Back and dead again: the window starts over.
    cluster.setState(a, 'alive');
    cluster.down.delete(b);
    await put(cluster, via, key, 'fourth');
    cluster.setState(a, 'dead');
    await put(cluster, via, key, 'fifth');
    await settle();
    expect(hintsFor(a)).toEqual(['first', 'second', 'fifth']);
  });
});

describe('tombstones', () => {
  it('deletes with a tombstone every replica keeps, then purges it after the grace period once all are in sync', async () => {
    let now = 1_000_000;
    const cluster = new InProcessCluster(NAMES, 3, 60_000, () => now);
    const key = 'gone';
    const via = outsider(cluster, key);
    const [a] = replicasOfKey(cluster, key) as [string];
    await put(cluster, via, key, 'v');
    cluster.down.add(a); // misses the delete, keeps the old value
    expect(await cluster.node(via).coordinator.delete(key, 'quorum')).toBeDefined();
    cluster.down.delete(a);

    // Within the grace period anti-entropy copies the tombstone to the replica that missed it
    // (checked before any read, which would repair it too).
    now += 1_000;
    await cluster.antiEntropy(1);
    for (const name of replicasOfKey(cluster, key)) {
      expect(cluster.node(name).store.get(key)?.tombstone).toBe(true);
    }
    expect(await read(cluster, via, key, 'all')).toBeUndefined();
    // Past it, with every replica alive and in sync, the tombstone goes everywhere.
    now += 61_000;
    await cluster.antiEntropy(2);
    expect(holders(cluster, key)).toEqual([]);
    expect(await read(cluster, via, key, 'all')).toBeUndefined();
  });

  it('looks a partition over for tombstones once per quarter of the grace period, not on every visit', async () => {
    let now = 1_000_000;
    const cluster = new InProcessCluster(NAMES, 3, 60_000, () => now);
    const key = 'gone-later';
    const via = outsider(cluster, key);
    await put(cluster, via, key, 'v');
    await cluster.node(via).coordinator.delete(key, 'quorum');
    await settle();
    // Just inside the grace period: looked over, nothing to purge yet.
    now += 59_000;
    await cluster.antiEntropy(1);
    expect(holders(cluster, key).length).toBe(3);
    // Past the grace period, but within 15 s (60 s / 4) of that look: kept for now.
    now += 10_000;
    await cluster.antiEntropy(1);
    expect(holders(cluster, key).length).toBe(3);
    // The next look purges it.
    now += 6_000;
    await cluster.antiEntropy(1);
    expect(holders(cluster, key)).toEqual([]);
  });

  it('still overwrites an old value a replica kept through the whole grace period', async () => {
    let now = 1_000_000;
    const cluster = new InProcessCluster(NAMES, 3, 60_000, () => now);
    const key = 'zombie';
    const via = outsider(cluster, key);
    const [a] = replicasOfKey(cluster, key) as [string];
    await put(cluster, via, key, 'old');
    cluster.down.add(a);
    cluster.setState(a, 'dead');
    await cluster.node(via).coordinator.delete(key, 'quorum');
    now += 120_000; // the replica is away for longer than the grace period
    await cluster.antiEntropy(1); // a replica is dead: nothing is purged
    expect(holders(cluster, key)).toHaveLength(3);
    cluster.down.delete(a);
    cluster.setState(a, 'alive');
    await cluster.antiEntropy(2);
    expect(await read(cluster, via, key, 'all')).toBeUndefined();
    expect(holders(cluster, key)).toEqual([]);
  });

  it('purges nothing while a member is dead, even partitions that moved off it meanwhile', async () => {
    let now = 1_000_000;
    const cluster = new InProcessCluster(['a', 'b', 'c', 'd'], 3, 20_000, () => now);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const key of keys) await put(cluster, 'a', key, 'old', 'all');
    // b crashes and keeps every value; a join moves some of its partitions to other members.
    cluster.down.add('b');
    cluster.setState('b', 'dead');
    cluster.add('e');
    for (const key of keys)
      expect(await cluster.node('a').coordinator.delete(key, 'quorum')).toBeDefined();
    await cluster.antiEntropy(2);
    now += 80_000;
    await cluster.antiEntropy(3);
    const purged = (): number =>
      [...cluster.nodes.values()].reduce((sum, n) => sum + n.events.tombstonesPurged, 0);
    expect(purged()).toBe(0);

    cluster.down.delete('b');
    cluster.setState('b', 'alive');
    await cluster.antiEntropy(3);
    for (const key of keys) expect(await read(cluster, 'a', key, 'all'), key).toBeUndefined();
    // With every member back and in sync, the tombstones go, and nothing comes back.
    now += 80_000;
    await cluster.antiEntropy(4);
    expect(purged()).toBeGreaterThan(0);
    for (const key of keys) expect(await read(cluster, 'a', key, 'all'), key).toBeUndefined();
  });
});

/** Writes k0..k49 through n0 and lets anti-entropy find every replica in sync. */
async function seed50(cluster: InProcessCluster): Promise<void> {
  for (let i = 0; i < 50; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
  await settle();
  await cluster.antiEntropy(1);
}

/** A key and its replicas in preference order, with a newer record on the last one only. */
async function newerOnLast(cluster: InProcessCluster): Promise<[string, string, string, string]> {
  await seed50(cluster);
  const key = 'k7';
  const [first, second, last] = replicasOfKey(cluster, key) as [string, string, string];
  const newer = { ...(cluster.node(last).store.get(key) as StoredRecord) };
  newer.version = { ...newer.version, wallMs: newer.version.wallMs + 1 };
  newer.value = Buffer.from('only on the last');
  await cluster.node(last).store.apply(newer);
  return [key, first, second, last];
}

describe('anti-entropy', () => {
  it('compares a partition found equal again only once this node holds something new for it', async () => {
    const cluster = new InProcessCluster(NAMES);
    await seed50(cluster);
    const digests = (): number => cluster.calls.get('digest') ?? 0;
    const before = digests();
    await cluster.antiEntropy(1);
    // Nothing changed anywhere: no partition is compared again.
    expect(digests()).toBe(before);
    // One write: only the partition it went to is compared again, by each of its replicas.
    await put(cluster, 'n0', 'k-new', 'v');
    await settle();
    await cluster.antiEntropy(1);
    expect(digests() - before).toBe(3 * 2);
  });

  it('still spreads a record only one replica holds', async () => {
    const cluster = new InProcessCluster(NAMES);
    const [key] = await newerOnLast(cluster);
    await cluster.antiEntropy(1);
    for (const name of replicasOfKey(cluster, key)) {
      expect(cluster.node(name).store.get(key)?.value.toString()).toBe('only on the last');
    }
  });
});

describe('anti-entropy past a replica it cannot compare with', () => {
  /** Visits every partition `name` replicates once; returns how many visits failed. */
  async function visitAll(cluster: InProcessCluster, name: string): Promise<number> {
    let failures = 0;
    const first = await cluster
      .node(name)
      .antiEntropy.step()
      .catch(() => {
        failures++;
        return TEST_PARTITIONS;
      });
    for (let i = 1; i < first; i++) {
      await cluster
        .node(name)
        .antiEntropy.step()
        .catch(() => failures++);
    }
    return failures;
  }

  it('still brings the other replicas in line when one of them fails, and reports the failure', async () => {
    const cluster = new InProcessCluster(NAMES);
    const [key, first, second, last] = await newerOnLast(cluster);
    cluster.down.add(first); // alive to the cluster, but every call to it fails
    expect(await visitAll(cluster, last)).toBeGreaterThan(0);
    expect(cluster.node(second).store.get(key)?.value.toString()).toBe('only on the last');
  });

  it('hands off to the other owners when one fails, then reports the failure', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 200; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    await settle();
    const heldByLeaver = Array.from({ length: 200 }, (_, i) => `k${i}`).filter((key) =>
      replicasOfKey(cluster, key).includes('n2'),
    );
    expect(heldByLeaver.length).toBeGreaterThan(50);
    cluster.setState('n2', 'left');
    cluster.down.add('n3'); // an owner that fails every call
    const lacking = (): number =>
      heldByLeaver
        .flatMap((key) => replicasOfKey(cluster, key).map((owner) => ({ key, owner })))
        .filter(
          ({ key, owner }) => owner !== 'n3' && cluster.node(owner).store.get(key) === undefined,
        ).length;
    // Some new owners lack keys before the hand-off, so it has real work to do.
    expect(lacking()).toBeGreaterThan(0);
    await expect(cluster.node('n2').antiEntropy.handOff(Date.now() + 10_000)).rejects.toThrow(
      /partition hand-offs failed/,
    );
    expect(lacking()).toBe(0);
  });

  it('visits nothing while paused (a node outvoted on its partition count)', async () => {
    const cluster = new InProcessCluster(NAMES);
    await seed50(cluster);
    // New writes in every partition: any visit from here on compares with a peer.
    for (let i = 0; i < 50; i++) await put(cluster, 'n0', `more${i}`, 'v');
    await settle();
    let paused = true;
    const failures: unknown[] = [];
    const node = cluster.node('n0').antiEntropy;
    const digests = (): number => cluster.calls.get('digest') ?? 0;
    const before = digests();
    node.start(
      (err) => failures.push(err),
      () => paused,
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(digests()).toBe(before);
      paused = false;
      await expect.poll(digests, { timeout: 5_000 }).toBeGreaterThan(before);
    } finally {
      await node.stop();
    }
    expect(failures).toEqual([]);
  });

  it('leaves alone a replica that announces another partition count', async () => {
    const cluster = new InProcessCluster(NAMES);
    const [key, first, second, last] = await newerOnLast(cluster);
    cluster.announce(first, { partitions: TEST_PARTITIONS * 2, replicationFactor: 3 });
    expect(await visitAll(cluster, last)).toBe(0);
    expect(cluster.node(second).store.get(key)?.value.toString()).toBe('only on the last');
    expect(cluster.node(first).store.get(key)?.value.toString()).not.toBe('only on the last');
  });
});

describe('rebalancing', () => {
  it('fills a member that joins and has former owners drop only what the new owners hold', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 200; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    const joined = cluster.add('n5');
    // A pass pushes, the next confirms and drops.
    await cluster.antiEntropy(2);
    expect(joined.store.liveKeyCount(Date.now())).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) {
      expect(holders(cluster, `k${i}`).sort()).toEqual([...replicasOfKey(cluster, `k${i}`)].sort());
      expect(await read(cluster, 'n5', `k${i}`, 'all')).toBe(`v${i}`);
    }
    const dropped = [...cluster.nodes.values()].reduce(
      (sum, n) => sum + n.events.droppedAfterHandOff,
      0,
    );
    // At least what the newcomer took; the bounded layout also moves a few between old members.
    expect(dropped).toBeGreaterThanOrEqual(joined.store.liveKeyCount(Date.now()));
  });

  it('reads every acknowledged write while members join, before new owners are filled', async () => {
    const cluster = new InProcessCluster(['n0', 'n1', 'n2']);
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const key of keys) await put(cluster, 'n0', key, `v-${key}`, 'all');
    // Three join at once, as a StatefulSet scaled from 3 to 6 does: some partitions move to
    // owners that are all new and still empty.
    for (const name of ['n5', 'n6', 'n7']) cluster.add(name);
    const emptyOwners = keys.filter((key) =>
      replicasOfKey(cluster, key).every((name) => cluster.node(name).store.get(key) === undefined),
    );
    expect(emptyOwners.length).toBeGreaterThan(0);

    for (const via of ['n0', 'n5']) {
      for (const consistency of ['one', 'quorum', 'all'] as const) {
        for (const key of keys) {
          expect(await read(cluster, via, key, consistency), `${key} via ${via}`).toBe(`v-${key}`);
        }
      }
    }
    // A delete finds the value, so its tombstone is written and outlives the hand-over.
    const deleted = keys.filter((_, i) => i % 3 === 0);
    for (const key of deleted) {
      expect(await cluster.node('n6').coordinator.delete(key, 'quorum')).toBeDefined();
    }
    await cluster.antiEntropy(3);
    for (const key of keys) {
      const expected = deleted.includes(key) ? undefined : `v-${key}`;
      expect(await read(cluster, 'n7', key, 'all'), key).toBe(expected);
    }

    // Once the former owners have handed over and dropped, reads stop asking them.
    for (const key of keys) await read(cluster, 'n0', key);
    const asked = cluster.calls.get('getHeldBatch') ?? 0;
    for (const key of keys) await read(cluster, 'n0', key);
    expect(cluster.calls.get('getHeldBatch') ?? 0).toBe(asked);
  });

  it('does not keep waiting for a member that may hold a partition but does not answer', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'k-former';
    await put(cluster, 'n0', key, 'v', 'all');
    const via = replicasOfKey(cluster, key)[0] as string;
    // A coordinator's first read of a partition asks every other member; one of them is paused.
    cluster.timingOut.add(outsider(cluster, key));
    expect(await read(cluster, via, key)).toBe('v');
    const asked = (): number => cluster.calls.get('getHeldBatch') ?? 0;
    const afterFirst = asked();
    expect(afterFirst).toBeGreaterThan(0);
    // The paused member is left alone for a while rather than asked (and waited for) again.
    expect(await read(cluster, via, key)).toBe('v');
    expect(asked()).toBe(afterFirst);
  });

  it('compares partitions page by page when they hold more keys than a page', async () => {
    // Seven keys per page: every partition of ~40 keys spans several pages.
    const cluster = new InProcessCluster(NAMES, 3, 60_000, Date.now, 7);
    for (let i = 0; i < 600; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    await settle();
    cluster.down.add('n1');
    for (let i = 0; i < 600; i += 3) await put(cluster, 'n0', `k${i}`, `new${i}`);
    cluster.down.delete('n1');
    const joined = cluster.add('n5');
    await cluster.antiEntropy(3);
    expect(joined.store.liveKeyCount(Date.now())).toBeGreaterThan(0);
    for (let i = 0; i < 600; i++) {
      const key = `k${i}`;
      expect(holders(cluster, key).sort()).toEqual([...replicasOfKey(cluster, key)].sort());
      for (const name of replicasOfKey(cluster, key)) {
        const value = cluster.node(name).store.get(key)?.value.toString();
        expect(value, `${key} on ${name}`).toBe(i % 3 === 0 ? `new${i}` : `v${i}`);
      }
    }
  });

  it('writes again above a newer version its replicas hold, when its own clock is behind', async () => {
    const cluster = new InProcessCluster(NAMES);
    const key = 'skewed';
    // The last write came from a node whose clock runs a minute ahead of this cluster's.
    const ahead = liveRecord(key, 'from the fast clock', Date.now() + 60_000, 'fast');
    for (const name of replicasOfKey(cluster, key)) await cluster.node(name).store.apply(ahead);

    // A coordinator that is not a replica has never seen the key: its first version is older.
    const version = await put(cluster, outsider(cluster, key), key, 'written later', 'all');
    expect(version.wallMs).toBeGreaterThanOrEqual(ahead.version.wallMs);
    expect(await read(cluster, outsider(cluster, key), key, 'all')).toBe('written later');
    for (const name of replicasOfKey(cluster, key)) {
      expect(cluster.node(name).store.get(key)?.value.toString(), name).toBe('written later');
    }

    // Neither the outsider nor a replica follows the fast clock for keys it never touched.
    for (const via of [outsider(cluster, key), ...replicasOfKey(cluster, key)]) {
      const elsewhere = await put(cluster, via, `elsewhere-${via}`, 'v');
      expect(elsewhere.wallMs, via).toBeLessThan(Date.now() + 60_000 - 10_000);
    }
    // Two writes at once through the outsider are both refused with the same version and both
    // written again above it: with two different versions, so the replicas agree on one value.
    const [x, y] = await Promise.all([
      put(cluster, outsider(cluster, key), key, 'x', 'all'),
      put(cluster, outsider(cluster, key), key, 'y', 'all'),
    ]);
    expect(x).not.toEqual(y);
    const winner =
      x.wallMs > y.wallMs || (x.wallMs === y.wallMs && x.counter > y.counter) ? 'x' : 'y';
    for (const name of replicasOfKey(cluster, key)) {
      expect(cluster.node(name).store.get(key)?.value.toString(), name).toBe(winner);
    }

    // A replica coordinating the key itself writes above the version it holds.
    const replica = replicasOfKey(cluster, key)[0] as string;
    const over = await put(cluster, replica, key, 'written by a replica', 'all');
    expect(over.wallMs).toBeGreaterThanOrEqual(ahead.version.wallMs);
    expect(await read(cluster, outsider(cluster, key), key, 'all')).toBe('written by a replica');
  });

  it('answers fetches and version pages that fit a peer frame, however large values and keys are', async () => {
    const { antiEntropy, store } = new InProcessCluster(NAMES).node('n0');
    const stored = (key: string, value: Buffer): Promise<boolean> =>
      store.apply(liveRecord(key, value, 1, 'n0'));
    const handlers = antiEntropy.handlers();

    // Ten values of 1 MiB: the reply carries some of them (the rest come on later visits).
    const large = Array.from({ length: 10 }, (_, i) => `large-${i}`);
    for (const key of large) await stored(key, Buffer.alloc(1024 * 1024, 1));
    const fetched = (await handlers.fetch?.({ keys: large })) as unknown[];
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.length).toBeLessThan(large.length);
    expect(packr.pack({ id: 1, result: fetched }).length).toBeLessThan(PEER_RPC_REPLY_BYTES_MAX);

    // 6,000 keys of 1,000 bytes in one partition: more than one page holds.
    const partition = 3;
    let held = 0;
    for (let i = 0; held < 6_000; i++) {
      const key = `${'k'.repeat(990)}-${i}`;
      if (partitionOf(encodeKey(key), TEST_PARTITIONS) !== partition) continue;
      await stored(key, Buffer.from('v'));
      held++;
    }
    const page = (await handlers.versions?.({ partition })) as {
      entries: unknown[];
      more: boolean;
    };
    expect(page.more).toBe(true);
    expect(packr.pack({ id: 1, result: page }).length).toBeLessThan(PEER_RPC_REPLY_BYTES_MAX);
  });

  it('answers read batches of large values with the first few, and reads them all through the batcher', async () => {
    const cluster = new InProcessCluster(NAMES);
    const keys = Array.from({ length: 40 }, (_, i) => `big-${i}`);
    // Each value is its own: a reply that carried the wrong one would show.
    const valueOf = (i: number): Buffer => Buffer.alloc(512 * 1024, i + 1);
    for (const [i, key] of keys.entries()) {
      await cluster.node('n0').coordinator.put({
        key,
        value: valueOf(i),
        contentType: 'application/octet-stream',
        ttlMs: undefined,
        consistency: 'all',
      });
    }
    const replica = replicasOfKey(cluster, 'big-0')[0] as string;
    const handlers = cluster.node(replica).coordinator.handlers();
    // Asked twice over (a batch may name a key more than once): 40 MiB of values.
    const asked = [...keys, ...keys];
    const reply = (await handlers.getBatch?.({ items: asked })) as unknown[];
    expect(reply.length).toBeGreaterThan(0);
    expect(reply.length).toBeLessThan(asked.length);
    expect(packr.pack({ id: 1, result: reply }).length).toBeLessThan(4 * 1024 * 1024);

    // Forty reads in one turn through one coordinator: every one answered, in short replies.
    const via = outsider(cluster, 'big-0');
    const values = await Promise.all(
      keys.map((key) => cluster.node(via).coordinator.get(key, 'all')),
    );
    expect(values.map((v, i) => v?.value.equals(valueOf(i)))).toEqual(keys.map(() => true));
  });

  it('keeps a partition it no longer owns while a new owner is down', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 100; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    await settle(); // the third replica's copy of the last writes is still on its way
    const before = new Map(
      Array.from({ length: 100 }, (_, i) => [`k${i}`, replicasOfKey(cluster, `k${i}`)]),
    );
    cluster.add('n5');
    cluster.down.add('n5');
    cluster.setState('n5', 'dead');
    await cluster.antiEntropy(3);
    let waiting = 0;
    for (const [key, oldReplicas] of before) {
      if (!replicasOfKey(cluster, key).includes('n5')) continue;
      waiting++;
      for (const name of oldReplicas) {
        expect(cluster.node(name).store.get(key), `${key} on ${name}`).toBeDefined();
      }
    }
    expect(waiting).toBeGreaterThan(0);
  });

  it('hands off a whole partition, past a first stretch of keys the new owners hold newer', async () => {
    // Pages of 100 keys: the partition spans many pages.
    const cluster = new InProcessCluster(NAMES, 3, 60_000, Date.now, 100);
    const partition = cluster.replicasOf(0).includes('n2') ? 0 : 1;
    const keys: string[] = [];
    for (let i = 0; keys.length < 650; i++) {
      if (partitionOf(encodeKey(`hand/${i}`), TEST_PARTITIONS) === partition)
        keys.push(`hand/${i}`);
    }
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const stored = (key: string, wallMs: number, value: string): StoredRecord =>
      liveRecord(key, value, wallMs, 'n2');
    expect(cluster.replicasOf(partition)).toContain('n2');
    for (const key of keys) await cluster.node('n2').store.apply(stored(key, 1, 'old'));
    cluster.setState('n2', 'left');
    const owners = cluster.replicasOf(partition);
    // The owners already hold the first 600 keys, newer; the last 50 only the leaver has.
    for (const owner of owners) {
      for (const key of keys.slice(0, 600)) {
        await cluster.node(owner).store.apply(stored(key, 2, 'newer'));
      }
    }
    await cluster.node('n2').antiEntropy.handOff(Date.now() + 10_000);
    for (const key of keys.slice(600)) {
      for (const owner of owners)
        expect(cluster.node(owner).store.get(key)?.value.toString(), key).toBe('old');
    }
  });

  it('hands off a partition of large values in several pushes, every one of them', async () => {
    const cluster = new InProcessCluster(NAMES);
    // 48 values of 512 KiB in one partition the leaver holds: 24 MiB, more than a push carries.
    const partition = Array.from({ length: TEST_PARTITIONS }, (_, p) => p).find((p) =>
      cluster.replicasOf(p).includes('n2'),
    );
    const keys: string[] = [];
    const valueOf = (key: string): Buffer => Buffer.alloc(512 * 1024, key);
    for (let i = 0; keys.length < 48; i++) {
      const key = `large-${i}`;
      if (partitionOf(encodeKey(key), TEST_PARTITIONS) !== partition) continue;
      await cluster.node('n2').store.apply(liveRecord(key, valueOf(key), Date.now(), 'n2'));
      keys.push(key);
    }
    cluster.setState('n2', 'left');
    const comparisons = cluster.calls.get('digest') ?? 0;
    const handedOff = await cluster.node('n2').antiEntropy.handOff(Date.now() + 30_000);
    expect(handedOff.complete).toBe(true);
    // At least two pushes to each of the three new owners, none carrying it all.
    expect((cluster.calls.get('digest') ?? 0) - comparisons).toBeGreaterThanOrEqual(6);
    for (const key of keys) {
      for (const owner of replicasOfKey(cluster, key)) {
        const held = cluster.node(owner).store.get(key)?.value;
        expect(held?.equals(valueOf(key)), `${key} on ${owner}`).toBe(true);
      }
    }
  });

  it('calls a hand-off incomplete when an owner that replaces the leaver is not alive', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 100; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    cluster.setState('n2', 'left');
    cluster.setState('n3', 'dead');
    const handedOff = await cluster.node('n2').antiEntropy.handOff(Date.now() + 10_000);
    expect(handedOff.pushed).toBeGreaterThan(0);
    expect(handedOff.complete).toBe(false);
  });

  it('reads what only a member that left holds while it hands off, and repairs the owners with it', async () => {
    const cluster = new InProcessCluster(NAMES);
    const keys = Array.from({ length: 200 }, (_, i) => `leaving/${i}`).filter((key) =>
      replicasOfKey(cluster, key).includes('n2'),
    );
    const reader = 'n0';
    for (const key of keys) await put(cluster, reader, key, 'old', 'all');
    // The newest writes reached the leaver alone, as when the other replicas were down.
    for (const key of keys) {
      await cluster.node('n2').store.apply(liveRecord(key, 'newest', Date.now() + 1_000, 'n2'));
    }
    cluster.setState('n2', 'left');
    // At `all`, every owner answers, and read repair sends each the newest value.
    for (const key of keys) expect(await read(cluster, reader, key, 'all'), key).toBe('newest');
    await settle();
    for (const key of keys) {
      for (const owner of replicasOfKey(cluster, key)) {
        expect(cluster.node(owner).store.get(key)?.value.toString(), `${key} on ${owner}`).toBe(
          'newest',
        );
      }
    }
  });

  it('hands every partition of a leaving member to the members that replace it', async () => {
    const cluster = new InProcessCluster(NAMES);
    for (let i = 0; i < 200; i++) await put(cluster, 'n0', `k${i}`, `v${i}`);
    // Some writes only the leaver took (`one`), as when the other replicas were down.
    const onlyOnLeaver: string[] = [];
    for (let i = 0; i < 200 && onlyOnLeaver.length < 10; i++) {
      const key = `solo${i}`;
      if (!replicasOfKey(cluster, key).includes('n2')) continue;
      await cluster.node('n2').store.apply(liveRecord(key, 'only here', Date.now(), 'n2'));
      onlyOnLeaver.push(key);
    }
    expect(onlyOnLeaver).toHaveLength(10);
    const allKeys = [...onlyOnLeaver, ...Array.from({ length: 200 }, (_, i) => `k${i}`)];
    const heldByLeaver = allKeys.filter((key) => holders(cluster, key).includes('n2'));
    cluster.setState('n2', 'left');
    const handedOff = await cluster.node('n2').antiEntropy.handOff(Date.now() + 10_000);
    expect(handedOff.pushed).toBeGreaterThanOrEqual(onlyOnLeaver.length);
    expect(handedOff.complete).toBe(true);
    cluster.down.add('n2');
    // Before any read (reads repair too): every key the leaver held is on all its new replicas.
    // (A partition the layout moves between two members that stay is anti-entropy's to move.)
    expect(heldByLeaver.length).toBeGreaterThan(100);
    for (const key of heldByLeaver) {
      const held = holders(cluster, key);
      for (const replica of replicasOfKey(cluster, key)) expect(held, key).toContain(replica);
    }
    // Anti-entropy then moves the rest and former owners drop what they no longer replicate:
    // every key sits on exactly its new replicas.
    await cluster.antiEntropy(2);
    for (const key of allKeys) {
      expect(
        holders(cluster, key)
          .filter((name) => name !== 'n2')
          .sort(),
        key,
      ).toEqual([...replicasOfKey(cluster, key)].sort());
    }
    for (const key of onlyOnLeaver) expect(await read(cluster, 'n0', key, 'all')).toBe('only here');
    for (let i = 0; i < 200; i++) expect(await read(cluster, 'n1', `k${i}`, 'all')).toBe(`v${i}`);
  });
});
