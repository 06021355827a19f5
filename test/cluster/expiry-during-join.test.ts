// An expired record stands for a delete, and must not be purged while a former owner of its
// partition still holds an older value of the key: that value would come back, through reads
// that ask the former owner and through its hand-over to the new owner. Two real processes, one
// replica per key: a key written on the first node alone moves to the second once it joins,
// which writes the key again with a one-second TTL, with a grace period of two seconds.

import { afterAll, describe, expect, it } from 'vitest';
import { Partitioner } from '../../src/replication/partitioner.js';
import { partitionOf } from '../../src/store/partition.js';
import { localPartitions, waitUntil } from '../e2e/helpers.js';
import type { ShoalProcess } from '../support/shoal-process.js';
import { StaticCluster } from '../support/static-cluster.js';

const PARTITIONS = 16;
const NAMES = ['expiry-0', 'expiry-1'];
const FIRST = 0;
const JOINER = 1;
const cluster = new StaticCluster(
  ['127.0.0.98', '127.0.0.99'],
  NAMES,
  {
    SHOAL_PARTITIONS: String(PARTITIONS),
    SHOAL_REPLICATION_FACTOR: '1',
    SHOAL_TOMBSTONE_GRACE_SECONDS: '2',
  },
  'shoal-expiry-',
);
const node = (i: number): ShoalProcess => cluster.node(i);

/** A key that the joiner owns once both nodes are members. */
function keyOwnedByJoiner(): { key: string; partition: number } {
  const layout = new Partitioner(PARTITIONS, 1).layout(NAMES);
  for (let i = 0; i < 1_000; i++) {
    const key = `moved/${i}`;
    const partition = partitionOf(Buffer.from(key, 'utf8'), PARTITIONS);
    if (layout.replicasOf(partition)[0] === NAMES[JOINER]) return { key, partition };
  }
  throw new Error('no key moves to the joiner');
}

async function keysHeld(n: ShoalProcess, partition: number): Promise<number> {
  const { partitions } = await localPartitions(n.url);
  return partitions.find((p) => p.id === partition)?.keys ?? 0;
}

function kv(n: ShoalProcess, method: string, path: string, value?: string): Promise<Response> {
  return fetch(`${n.url}/v1/kv/${path}`, { method, body: value });
}

afterAll(() => cluster.killAll());

describe('an expired record whose partition moved', () => {
  it('is kept while the former owner holds an older value, so that value does not come back', async () => {
    const { key, partition } = keyOwnedByJoiner();
    await cluster.start(FIRST);
    expect((await kv(node(FIRST), 'PUT', `${key}?consistency=all`, 'old value')).status).toBe(200);

    await cluster.start(JOINER);
    await cluster.waitUntilAllAlive();
    const written = await kv(node(JOINER), 'PUT', `${key}?ttl=1s&consistency=all`, 'brief');
    expect(written.status, await written.text()).toBe(200);
    expect(await keysHeld(node(JOINER), partition)).toBe(1);

    // The first node hands the partition over once the layout has settled, then drops it.
    await waitUntil(
      'the former owner to hand over and drop the partition',
      async () => (await keysHeld(node(FIRST), partition)) === 0,
      60_000,
    );
    for (const i of [FIRST, JOINER]) {
      const read = await kv(node(i), 'GET', `${key}?consistency=all`);
      expect(`${read.status} ${await read.text()}`, NAMES[i]).toMatch(/^404 /);
    }

    // With nobody else holding the partition, the expired record is purged after all.
    await waitUntil(
      'the expired record to be purged',
      async () => (await keysHeld(node(JOINER), partition)) === 0,
      60_000,
    );
    const read = await kv(node(JOINER), 'GET', `${key}?consistency=all`);
    expect(read.status).toBe(404);
  }, 150_000);
});
