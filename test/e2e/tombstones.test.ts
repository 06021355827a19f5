// Deletes on a real node: a tombstone stays (and counts in the partition digests) until the grace
// period has passed, then anti-entropy purges it — here with a three-second grace period, on a
// single node that is the only replica of every partition and so always in sync with itself.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shiftedClockEnv } from '../support/faketime.js';
import { makeTempDir, sleep, startShoal, type ShoalProcess } from '../support/shoal-process.js';
import { gaugeValue, heldRecords, sampleValue } from './helpers.js';

const PARTITIONS = 8;
/** Anti-entropy visits one partition per 40 ms, so every partition within a second or so. */
const PURGE_WAIT_MS = 20_000;

let node: ShoalProcess;

beforeAll(async () => {
  node = await startShoal({
    env: { SHOAL_PARTITIONS: String(PARTITIONS), SHOAL_TOMBSTONE_GRACE_SECONDS: '3' },
  });
});

afterAll(async () => {
  await node?.stop();
});

describe('tombstones on a real node', () => {
  it('keeps a delete as a tombstone, then purges it after the grace period', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${node.url}/v1/kv/t${i}`, { method: 'PUT', body: `v${i}` });
      expect(res.status).toBe(200);
    }
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${node.url}/v1/kv/t${i}`, { method: 'DELETE' })).status).toBe(200);
    }
    // Right after the deletes the tombstones are still held (a replica that missed them could
    // otherwise bring the values back).
    expect(await heldRecords(node.url)).toBe(20);
    expect((await fetch(`${node.url}/v1/kv/t3`)).status).toBe(404);

    const deadline = Date.now() + PURGE_WAIT_MS;
    while ((await heldRecords(node.url)) > 10 && Date.now() < deadline) await sleep(200);
    expect(await heldRecords(node.url)).toBe(10);
    expect(await sampleValue(node.url, 'shoal_tombstones_purged_total')).toBe(10);
    for (let i = 0; i < 20; i++) {
      expect((await fetch(`${node.url}/v1/kv/t${i}`)).status).toBe(i < 10 ? 404 : 200);
    }
  });

  it('keeps old tombstones on a node that restarts alone until it has been up the grace period', async () => {
    // Alone, it cannot tell a cluster of one from peers it cannot reach yet, and a peer may
    // still hold a value one of its tombstones deleted.
    const dataDir = makeTempDir('shoal-alone-');
    const env = { SHOAL_PARTITIONS: String(PARTITIONS) };
    const first = await startShoal({
      dataDir,
      env: { ...env, SHOAL_TOMBSTONE_GRACE_SECONDS: '600' },
    });
    expect((await fetch(`${first.url}/v1/kv/gone`, { method: 'PUT', body: 'v' })).status).toBe(200);
    expect((await fetch(`${first.url}/v1/kv/gone`, { method: 'DELETE' })).status).toBe(200);
    await first.stop();

    // Back two minutes later (its clock says), with a grace period of 30 s: the tombstone is
    // past it, the node's time up is not.
    const again = await startShoal({
      dataDir,
      env: { ...env, SHOAL_TOMBSTONE_GRACE_SECONDS: '30', ...shiftedClockEnv(120) },
    });
    try {
      // Anti-entropy visits all eight partitions several times over in this while.
      await sleep(3_000);
      expect(await heldRecords(again.url)).toBe(1);
      expect(await sampleValue(again.url, 'shoal_tombstones_purged_total')).toBe(0);
    } finally {
      await again.stop();
    }
  });

  it('exports the hint gauge, at zero on a node alone', async () => {
    expect(await gaugeValue(node.url, 'shoal_hints_pending')).toBe(0);
  });
});
