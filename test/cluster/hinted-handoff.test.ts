// Hinted handoff between real processes: three nodes (every node a replica of every key), one
// killed; quorum writes through another go on, the coordinator keeps a hint per missed write
// (on disk: it survives the coordinator's own restart), and delivers them when the replica is
// back, after which the replica holds exactly what the others hold.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaugeValue, sampleValue, waitUntil } from '../e2e/helpers.js';
import { makeTempDir, startShoal, type ShoalProcess } from '../support/shoal-process.js';

const HTTP_PORT = 18_080;
const GOSSIP_PORT = 17_946;
const PARTITIONS = 16;
const KEYS = 200;
const ips = ['127.0.0.81', '127.0.0.82', '127.0.0.83'];
const names = ['hh-0', 'hh-1', 'hh-2'];
const dataDirs = names.map(() => makeTempDir('shoal-hints-'));
const nodes: (ShoalProcess | undefined)[] = [];

function start(i: number): Promise<ShoalProcess> {
  return startShoal({
    host: ips[i],
    httpPort: HTTP_PORT,
    gossipPort: GOSSIP_PORT,
    nodeName: names[i],
    dataDir: dataDirs[i],
    readyTimeoutMs: 30_000,
    env: {
      SHOAL_JOIN: ips.map((ip) => `${ip}:${GOSSIP_PORT}`).join(','),
      SHOAL_PARTITIONS: String(PARTITIONS),
      SHOAL_LOG_LEVEL: 'warn',
    },
  });
}

function node(i: number): ShoalProcess {
  const n = nodes[i];
  if (n === undefined) throw new Error(`node ${i} is not running`);
  return n;
}

async function digests(n: ShoalProcess): Promise<Map<number, string>> {
  const body = (await (await fetch(`${n.url}/v1/cluster/partitions?local=true`)).json()) as {
    partitions: { id: number; digest: string }[];
  };
  return new Map(body.partitions.map((p) => [p.id, p.digest]));
}

async function aliveCount(n: ShoalProcess): Promise<number> {
  const body = (await (await fetch(`${n.url}/v1/cluster/members`)).json()) as {
    members: { state: string }[];
  };
  return body.members.filter((m) => m.state === 'alive').length;
}

beforeAll(async () => {
  for (const [i, n] of (await Promise.all(ips.map((_, i) => start(i)))).entries()) nodes[i] = n;
  await waitUntil('three alive members', async () => (await aliveCount(node(0))) === 3);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n?.stop().catch(() => undefined)));
});

describe('hinted handoff between real nodes', () => {
  it('keeps a hint per write a killed replica missed, durably, and delivers them when it is back', async () => {
    node(2).signal('SIGKILL');
    await node(2).waitForExit();
    nodes[2] = undefined;

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
    nodes[0] = await start(0);
    expect(await gaugeValue(node(0).url, 'shoal_hints_pending')).toBe(KEYS);

    nodes[2] = await start(2);
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
