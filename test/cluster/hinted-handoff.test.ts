// Hinted handoff between real processes: three nodes (every node a replica of every key), one
// killed; quorum writes through another go on, the coordinator keeps a hint per missed write
// (on disk: it survives the coordinator's own restart), and delivers them when the replica is
// back, after which the replica holds exactly what the others hold.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaugeValue, localPartitions, sampleValue, waitUntil } from '../e2e/helpers.js';
import type { ShoalProcess } from '../support/shoal-process.js';
import { StaticCluster } from '../support/static-cluster.js';

const KEYS = 200;
const cluster = new StaticCluster(
  ['127.0.0.81', '127.0.0.82', '127.0.0.83'],
  ['hh-0', 'hh-1', 'hh-2'],
  { SHOAL_PARTITIONS: '16' },
  'shoal-hints-',
);
const node = (i: number): ShoalProcess => cluster.node(i);

async function digests(n: ShoalProcess): Promise<Map<number, string>> {
  const { partitions } = await localPartitions(n.url);
  return new Map(partitions.map((p) => [p.id, p.digest]));
}

beforeAll(async () => {
  await cluster.startAll();
  await cluster.waitUntilAllAlive();
}, 60_000);

afterAll(() => cluster.killAll());

describe('hinted handoff between real nodes', () => {
  it('keeps a hint per write a killed replica missed, durably, and delivers them when it is back', async () => {
    node(2).signal('SIGKILL');
    await node(2).waitForExit();
    cluster.exited(2);

    for (let i = 0; i < KEYS; i++) {
      const res = await fetch(`${node(0).url}/v1/kv/h${i}`, { method: 'PUT', body: `v${i}` });
      expect(res.status, await res.text()).toBe(200);
    }
    await waitUntil(
      'a hint for every write',
      async () => (await gaugeValue(node(0).url, 'shoal_hints_pending')) === KEYS,
    );

    // The hints are on disk: the coordinator restarts and still has them.
    await node(0).stop();
    await cluster.start(0);
    expect(await gaugeValue(node(0).url, 'shoal_hints_pending')).toBe(KEYS);

    await cluster.start(2);
    await waitUntil(
      'hints delivered',
      async () => (await gaugeValue(node(0).url, 'shoal_hints_pending')) === 0,
    );
    expect(await sampleValue(node(0).url, 'shoal_hints_total', { event: 'delivered' })).toBe(KEYS);
    // The returning replica holds exactly what the coordinator holds, partition by partition.
    await waitUntil('equal digests', async () => {
      const [here, there] = await Promise.all([digests(node(0)), digests(node(2))]);
      return here.size > 0 && [...here].every(([id, digest]) => there.get(id) === digest);
    });
  });
});
