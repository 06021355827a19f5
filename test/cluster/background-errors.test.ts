// A background task that keeps failing is visible. Two real nodes configured with different
// partition counts (a misconfiguration an operator can make): anti-entropy on the node with more
// partitions asks its peer about partitions the peer does not have, every such visit fails, and
// the node counts the failures in shoal_background_errors_total and logs them, without flooding
// the log and while it goes on serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, sleep, startShoal, type ShoalProcess } from '../support/shoal-process.js';

const HTTP_PORT = 18_080;
const GOSSIP_PORT = 17_946;
const ips = ['127.0.0.86', '127.0.0.87'];
const partitions = [256, 16];
const nodes: ShoalProcess[] = [];

async function antiEntropyFailures(n: ShoalProcess): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const series = 'shoal_background_errors_total{task="anti-entropy"}';
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  nodes.push(
    ...(await Promise.all(
      ips.map((ip, i) =>
        startShoal({
          host: ip,
          httpPort: HTTP_PORT,
          gossipPort: GOSSIP_PORT,
          nodeName: `bg-${i}`,
          dataDir: makeTempDir('shoal-bg-'),
          readyTimeoutMs: 30_000,
          env: {
            SHOAL_JOIN: ips.map((peer) => `${peer}:${GOSSIP_PORT}`).join(','),
            SHOAL_PARTITIONS: String(partitions[i]),
            SHOAL_LOG_LEVEL: 'warn',
          },
        }),
      ),
    )),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
});

describe('background task failures between real nodes', () => {
  it('counts and logs anti-entropy visits a misconfigured peer refuses, and keeps serving', async () => {
    const [wide, narrow] = nodes as [ShoalProcess, ShoalProcess];
    // A healthy node reports the series at zero.
    expect(await antiEntropyFailures(narrow)).toBe(0);

    const deadline = Date.now() + 30_000;
    while ((await antiEntropyFailures(wide)) < 20 && Date.now() < deadline) await sleep(200);
    expect(await antiEntropyFailures(wide)).toBeGreaterThanOrEqual(20);

    const lines = wide
      .output()
      .split('\n')
      .filter((line) => line.includes('"anti-entropy failed"'));
    // The first failure is logged at once; the rest within the minute are only counted.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('is not in 0..15');

    const put = await fetch(`${wide.url}/v1/kv/still-serving`, { method: 'PUT', body: 'yes' });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${narrow.url}/v1/kv/still-serving`)).text()).toBe('yes');
  });
});
