// The partitions API of one real node: the layout names the node for every partition, and
// `?local=true` reports what the node holds per partition (key counts and digests) as writes,
// deletes and a restart happen.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/store/partition.js';
import { makeTempDir, startShoal, type ShoalProcess } from '../support/shoal-process.js';
import { expectError, getJson, localPartitions, type LocalPartitions } from './helpers.js';

const PARTITIONS = 32;
const NODE_NAME = 'shoal-0';
const KEY_COUNT = 40;

interface Layout {
  partitions: { id: number; replicas: string[] }[];
}

let node: ShoalProcess;
const dataDir = makeTempDir();

function start(): Promise<ShoalProcess> {
  return startShoal({
    dataDir,
    nodeName: NODE_NAME,
    env: { SHOAL_PARTITIONS: String(PARTITIONS) },
  });
}

beforeAll(async () => {
  node = await start();
});

afterAll(async () => {
  await node?.stop();
});

async function send(method: 'PUT' | 'DELETE', key: string, value?: string): Promise<void> {
  const response = await fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`, {
    method,
    body: value,
  });
  expect(response.status, `${method} ${key}: ${await response.text()}`).toBe(200);
}

function local(): Promise<LocalPartitions> {
  return localPartitions(node.url);
}

function partitionOfKey(key: string): number {
  return partitionOf(Buffer.from(key, 'utf8'), PARTITIONS);
}

function entryFor(
  state: LocalPartitions,
  key: string,
): { id: number; keys: number; digest: string } {
  const entry = state.partitions.find((p) => p.id === partitionOfKey(key));
  expect(entry, `partition of ${key} in ${JSON.stringify(state)}`).toBeDefined();
  return entry as { id: number; keys: number; digest: string };
}

describe('GET /v1/cluster/partitions', () => {
  it('lists every partition, each held by the only node', async () => {
    for (const path of ['/v1/cluster/partitions', '/v1/cluster/partitions?local=false']) {
      const body = await getJson<Layout>(`${node.url}${path}`);
      expect(Object.keys(body)).toEqual(['partitions']);
      expect(body.partitions.map((p) => p.id)).toEqual(
        Array.from({ length: PARTITIONS }, (_, i) => i),
      );
      for (const partition of body.partitions) expect(partition.replicas).toEqual([NODE_NAME]);
    }
  });

  it('rejects a local flag other than true or false', async () => {
    await expectError(await fetch(`${node.url}/v1/cluster/partitions?local=yes`), 400, 'BAD_QUERY');
    await expectError(
      await fetch(`${node.url}/v1/cluster/partitions?local=true&local=true`),
      400,
      'BAD_QUERY',
    );
  });

  it('with ?local=true reports the partitions holding the written keys, their counts and digests', async () => {
    const empty = await local();
    expect(empty).toEqual({ node: NODE_NAME, partitions: [] });

    const keys = Array.from({ length: KEY_COUNT }, (_, i) => `user/${i}`);
    for (const key of keys) await send('PUT', key, `profile ${key}`);
    const written = await local();
    expect(written.node).toBe(NODE_NAME);

    const expectedCounts = new Map<number, number>();
    for (const key of keys)
      expectedCounts.set(partitionOfKey(key), (expectedCounts.get(partitionOfKey(key)) ?? 0) + 1);
    expect(written.partitions.map((p) => p.id)).toEqual(
      [...expectedCounts.keys()].sort((a, b) => a - b),
    );
    for (const partition of written.partitions) {
      expect(Object.keys(partition).sort()).toEqual(['digest', 'id', 'keys']);
      expect(partition.keys).toBe(expectedCounts.get(partition.id));
      expect(partition.digest).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(written.partitions.reduce((sum, p) => sum + p.keys, 0)).toBe(KEY_COUNT);

    // A delete leaves a tombstone: the partition keeps its count, its digest changes, and no
    // other partition changes.
    const deleted = 'user/7';
    await send('DELETE', deleted);
    const afterDelete = await local();
    expect(entryFor(afterDelete, deleted).keys).toBe(entryFor(written, deleted).keys);
    expect(entryFor(afterDelete, deleted).digest).not.toBe(entryFor(written, deleted).digest);
    const othersOf = (state: LocalPartitions): LocalPartitions['partitions'] =>
      state.partitions.filter((p) => p.id !== partitionOfKey(deleted));
    expect(othersOf(afterDelete)).toEqual(othersOf(written));

    // An overwrite is a new version: same count, new digest.
    const rewritten = 'user/8';
    await send('PUT', rewritten, 'profile, edited');
    const afterRewrite = await local();
    expect(entryFor(afterRewrite, rewritten).keys).toBe(entryFor(afterDelete, rewritten).keys);
    expect(entryFor(afterRewrite, rewritten).digest).not.toBe(
      entryFor(afterDelete, rewritten).digest,
    );
  });

  it('reports the same counts and digests after a restart', async () => {
    const before = await local();
    expect(before.partitions.length).toBeGreaterThan(0);
    const stopped = await node.stop();
    expect(stopped.code).toBe(0);
    node = await start();
    expect(await local()).toEqual(before);
  });
});
