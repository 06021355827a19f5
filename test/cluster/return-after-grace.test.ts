// A member that left (a scale-down) and comes back with its old volume after the tombstone grace
// period (a scale-up) must not bring back what was deleted while it was away: the cluster has
// purged those deletes, and the member still holds the values. Having handed everything off when
// it left, it starts empty and is filled again by anti-entropy. Two real processes; a grace
// period of two seconds stands for the ten days of the default.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPartitions, memberStates, sampleValue, waitUntil } from '../e2e/helpers.js';
import type { ShoalProcess } from '../support/shoal-process.js';
import { StaticCluster } from '../support/static-cluster.js';

const GRACE_SECONDS = 2;
const cluster = new StaticCluster(
  ['127.0.0.96', '127.0.0.97'],
  ['back-0', 'back-1'],
  { SHOAL_PARTITIONS: '16', SHOAL_TOMBSTONE_GRACE_SECONDS: String(GRACE_SECONDS) },
  'shoal-return-',
);
const node = (i: number): ShoalProcess => cluster.node(i);

async function states(n: ShoalProcess): Promise<string[]> {
  return (await memberStates(n.url)).map((m) => `${m.name}=${m.state}`).sort();
}

async function localDigests(n: ShoalProcess): Promise<string> {
  const { partitions } = await localPartitions(n.url);
  return JSON.stringify(partitions.map((p) => [p.id, p.digest]));
}

function kv(n: ShoalProcess, method: string, key: string, value?: string): Promise<Response> {
  return fetch(`${n.url}/v1/kv/${key}?consistency=all`, { method, body: value });
}

beforeAll(async () => {
  await cluster.startAll();
  await waitUntil(
    'both members alive',
    async () => (await states(node(0))).join() === 'back-0=alive,back-1=alive',
  );
}, 60_000);

afterAll(() => cluster.killAll());

describe('a member back after the tombstone grace period', () => {
  it('starts empty rather than bring back a value deleted while it was away', async () => {
    for (const key of ['kept', 'deleted']) {
      expect((await kv(node(0), 'PUT', key, `value of ${key}`)).status).toBe(200);
    }
    expect(await node(1).stop(30_000)).toMatchObject({ code: 0, signal: null });
    cluster.exited(1);
    await waitUntil(
      'back-1 to be seen as left',
      async () => (await states(node(0))).join() === 'back-0=alive,back-1=left',
    );

    expect((await kv(node(0), 'DELETE', 'deleted')).status).toBe(200);
    await waitUntil(
      'the tombstone to be purged',
      async () => (await sampleValue(node(0).url, 'shoal_tombstones_purged_total')) >= 1,
    );

    await cluster.start(1);
    expect(node(1).output()).toContain('starting empty');
    await waitUntil(
      'both members alive again',
      async () => (await states(node(1))).join() === 'back-0=alive,back-1=alive',
    );
    await waitUntil(
      'the replicas to agree',
      async () => (await localDigests(node(0))) === (await localDigests(node(1))),
    );
    expect((await kv(node(1), 'GET', 'deleted')).status).toBe(404);
    const kept = await kv(node(1), 'GET', 'kept');
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe('value of kept');
  }, 90_000);
});
