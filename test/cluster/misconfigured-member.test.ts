// A member started with other placement settings, between real processes: three nodes, two with
// 256 partitions and one with 16 (a misconfiguration an operator can make by hand).
// - The odd one out reports not ready (clients are not sent to it); the two that agree stay
//   ready. Each side logs an error naming the members whose partition count differs.
// - The odd one serves no data: clients that reach it get 503 NOT_READY, and its peers' writes
//   to it fail, so it counts toward no quorum (consistency=all is refused) and a hint keeps each
//   write for it.
// - Anti-entropy on the nodes with 256 partitions leaves it out. Their hint deliveries to it are
//   refused; the failures are counted in shoal_background_errors_total and logged without
//   flooding the log, while the nodes go on serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, gaugeValue, sampleValue, waitUntil } from '../e2e/helpers.js';
import { makeTempDir, startShoal, type ShoalProcess } from '../support/shoal-process.js';

const HTTP_PORT = 18_080;
const GOSSIP_PORT = 17_946;
const ips = ['127.0.0.86', '127.0.0.87', '127.0.0.88'];
const partitions = [256, 256, 16];
const nodes: ShoalProcess[] = [];

function backgroundFailures(n: ShoalProcess, task: string): Promise<number> {
  return sampleValue(n.url, 'shoal_background_errors_total', { task });
}

function logLines(n: ShoalProcess, msg: string): Record<string, unknown>[] {
  return n
    .output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function start(i: number): Promise<ShoalProcess> {
  return startShoal({
    host: ips[i],
    httpPort: HTTP_PORT,
    gossipPort: GOSSIP_PORT,
    nodeName: `mc-${i}`,
    dataDir: makeTempDir('shoal-mc-'),
    readyTimeoutMs: 30_000,
    // The odd one out may see the others before it is ready, and then never is.
    waitFor: partitions[i] === partitions[0] ? 'ready' : 'live',
    env: {
      SHOAL_JOIN: ips.map((peer) => `${peer}:${GOSSIP_PORT}`).join(','),
      SHOAL_PARTITIONS: String(partitions[i]),
      SHOAL_LOG_LEVEL: 'warn',
    },
  });
}

beforeAll(async () => {
  nodes.push(...(await Promise.all(ips.map((_, i) => start(i)))));
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
});

describe('a member with other placement settings', () => {
  it('is the one that stops being ready, and both sides log whom they disagree with', async () => {
    const [wide, wideToo, odd] = nodes as [ShoalProcess, ShoalProcess, ShoalProcess];
    await waitUntil('the odd member not ready', async () => {
      const res = await fetch(`${odd.url}/readyz`);
      const body = (await res.json()) as { reasons?: string[] };
      return res.status === 503 && (body.reasons ?? []).includes('settings_differ');
    });
    for (const n of [wide, wideToo]) expect((await fetch(`${n.url}/readyz`)).status).toBe(200);

    const message = 'member has another partition count';
    await waitUntil(
      'the errors logged',
      () => logLines(odd, message).length >= 2 && logLines(wide, message).length >= 1,
    );
    expect(logLines(odd, message)).toHaveLength(2);
    expect(logLines(wide, message)).toHaveLength(1);
    expect(logLines(odd, message).map((line) => line.member)).toEqual(
      expect.arrayContaining(['mc-0', 'mc-1']),
    );
    expect(logLines(wide, message)[0]).toMatchObject({
      level: 50,
      member: 'mc-2',
      theirs: { partitions: 16, replicationFactor: 3 },
      ours: { partitions: 256, replicationFactor: 3 },
    });
  });

  it('serves no data to clients or peers, so no quorum counts it', async () => {
    const [wide, wideToo, odd] = nodes as [ShoalProcess, ShoalProcess, ShoalProcess];
    for (const [path, method] of [
      ['/v1/kv/k', 'PUT'],
      ['/v1/kv/k', 'GET'],
      ['/v1/kv/k', 'DELETE'],
      ['/v1/kv?prefix=k', 'GET'],
      ['/set/k/v', 'POST'],
    ] as const) {
      const res = await fetch(`${odd.url}${path}`, {
        method,
        body: method === 'PUT' ? 'v' : undefined,
      });
      const body = await expectError(res, 503, 'NOT_READY');
      expect(body.error.message).toContain('SHOAL_PARTITIONS=16');
    }

    // Every key has all three nodes as replicas: the two that agree make a quorum, the odd one
    // does not answer for a third, and a hint keeps the write for it.
    const hintsBefore = await gaugeValue(wide.url, 'shoal_hints_pending');
    const quorum = await fetch(`${wide.url}/v1/kv/agreed`, { method: 'PUT', body: 'q' });
    expect(quorum.status).toBe(200);
    const readAll = await fetch(`${wideToo.url}/v1/kv/agreed?consistency=all`);
    expect(readAll.status).toBe(503);
    expect(await readAll.json()).toMatchObject({ error: { code: 'QUORUM_UNAVAILABLE' } });
    const all = await fetch(`${wide.url}/v1/kv/agreed?consistency=all`, {
      method: 'PUT',
      body: 'a',
    });
    expect(all.status).toBe(503);
    expect(await all.json()).toMatchObject({
      error: { code: 'QUORUM_UNAVAILABLE', needed: 3, reached: 2 },
    });
    await waitUntil(
      'a hint kept for the odd member',
      async () => (await gaugeValue(wide.url, 'shoal_hints_pending')) > hintsBefore,
    );
    // What is not data it still answers.
    for (const path of ['/metrics', '/v1/cluster/members', '/v1/cluster/partitions']) {
      expect((await fetch(`${odd.url}${path}`)).status, path).toBe(200);
    }
  });

  it('is left out of anti-entropy; the failed hint deliveries to it are counted and logged sparingly', async () => {
    const [wide, wideToo] = nodes as [ShoalProcess, ShoalProcess];
    // Counted from here, not from start-up: joining is not what this test is about.
    const antiEntropyFailuresBefore = await backgroundFailures(wide, 'anti-entropy');

    // A write the odd member misses leaves a hint for it (whatever ran before this test); the
    // hints are offered every second, and refused every time.
    const hinted = await fetch(`${wide.url}/v1/kv/hinted`, { method: 'PUT', body: 'h' });
    expect(hinted.status).toBe(200);
    await waitUntil(
      '5 failed hint deliveries',
      async () => (await backgroundFailures(wide, 'hint-delivery')) >= 5,
    );
    const failures = await backgroundFailures(wide, 'hint-delivery');
    const lines = logLines(wide, 'hint-delivery failed');
    // The first failure is logged at once, then at most a line a minute with the count between.
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length * 5).toBeLessThanOrEqual(failures);
    expect(JSON.stringify(lines[0])).toContain('SHOAL_PARTITIONS=16');
    // Anti-entropy does not compare partitions with a member that files keys otherwise: over the
    // seconds above it visited every partition many times and no visit failed.
    expect(await backgroundFailures(wide, 'anti-entropy')).toBe(antiEntropyFailuresBefore);

    const put = await fetch(`${wide.url}/v1/kv/still-serving`, { method: 'PUT', body: 'yes' });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${wideToo.url}/v1/kv/still-serving`)).text()).toBe('yes');
  });
});
