// Clock skew between real processes: four nodes, one of them with its clock a minute ahead
// (libfaketime, as a node whose NTP is broken would be). A write after one that node made still
// wins, whether its coordinator replicates the key or not; the other nodes' clocks do not follow
// the fast one for the keys they write afterwards; and two writes at once over such a key end
// with every replica holding the same value.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/store/partition.js';
import { compareVersions, parseVersion, type Version } from '../../src/store/version.js';
import { CLOCK_LEAD_MAX_MS } from '../../src/store/hlc.js';
import { shiftedClockEnv } from '../support/faketime.js';
import type { ShoalProcess } from '../support/shoal-process.js';
import { StaticCluster } from '../support/static-cluster.js';

const PARTITIONS = 16;
const SKEW_S = 60;

const ips = ['127.0.0.91', '127.0.0.92', '127.0.0.93', '127.0.0.94'];
const names = ['skew-fast', 'skew-1', 'skew-2', 'skew-3'];
const FAST = 0;
const cluster = new StaticCluster(
  ips,
  names,
  { SHOAL_PARTITIONS: String(PARTITIONS) },
  'shoal-skew-',
  (i) => (i === FAST ? shiftedClockEnv(SKEW_S) : {}),
);
const nodes: ShoalProcess[] = [];

function node(name: string): ShoalProcess {
  const found = nodes.find((n) => n.nodeName === name);
  if (found === undefined) throw new Error(`no node ${name}`);
  return found;
}

async function put(via: ShoalProcess, key: string, value: string): Promise<Version> {
  const res = await fetch(`${via.url}/v1/kv/${encodeURIComponent(key)}?consistency=all`, {
    method: 'PUT',
    body: value,
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const version = parseVersion((JSON.parse(text) as { version: string }).version);
  if (version === undefined) throw new Error(`no version in ${text}`);
  return version;
}

/** The value a node answers for the key: at `one`, a replica answers from its own store. */
async function read(via: ShoalProcess, key: string, consistency: 'one' | 'all'): Promise<string> {
  const res = await fetch(`${via.url}/v1/kv/${encodeURIComponent(key)}?consistency=${consistency}`);
  return `${res.status} ${await res.text()}`;
}

let layout: { id: number; replicas: string[] }[] = [];

function replicasOf(key: string): string[] {
  return layout[partitionOf(Buffer.from(key, 'utf8'), PARTITIONS)]?.replicas ?? [];
}

/** A fresh key that the fast node replicates and a node with a true clock does not. */
function keyWithOutsider(prefix: string): { key: string; outsider: string } {
  // With three replicas of four nodes, about three keys in four qualify.
  for (let i = 0; i < 1_000; i++) {
    const key = `${prefix}/${i}`;
    const replicas = replicasOf(key);
    const outsider = names.find((name) => !replicas.includes(name));
    if (replicas.includes(names[FAST] as string) && outsider !== undefined)
      return { key, outsider };
  }
  throw new Error(`no key under ${prefix}/ has the fast node among its replicas`);
}

beforeAll(async () => {
  nodes.push(...(await cluster.startAll()));
  await cluster.waitUntilAllAlive();
  const body = (await (await fetch(`${node('skew-1').url}/v1/cluster/partitions`)).json()) as {
    partitions: { id: number; replicas: string[] }[];
  };
  layout = body.partitions;
}, 60_000);

afterAll(() => cluster.killAll());

describe('a node whose clock runs a minute ahead', () => {
  it('writes versions a minute ahead, and a later write through any node still wins', async () => {
    const { key, outsider } = keyWithOutsider('skewed');
    const fast = await put(node(names[FAST] as string), key, 'from the fast clock');
    // The fault is in place: the fast node's versions run a minute ahead.
    expect(fast.wallMs).toBeGreaterThan(Date.now() + (SKEW_S - 10) * 1000);

    // Through a node that does not replicate the key: its replicas refuse the first round with
    // the newer version they hold, and it writes again above it.
    const later = await put(node(outsider), key, 'written later');
    expect(compareVersions(later, fast)).toBeGreaterThan(0);
    for (const n of nodes) expect(await read(n, key, 'all'), n.nodeName).toBe('200 written later');

    // Through a replica with a true clock: it writes above the version it holds.
    const replica = replicasOf(key).find((name) => name !== names[FAST]) as string;
    const again = await put(node(replica), key, 'written again');
    expect(compareVersions(again, later)).toBeGreaterThan(0);
    for (const n of nodes) expect(await read(n, key, 'all'), n.nodeName).toBe('200 written again');

    // Neither follows the fast clock for the keys it writes next.
    for (const name of [outsider, replica]) {
      const elsewhere = await put(node(name), `elsewhere/${name}`, 'v');
      expect(elsewhere.wallMs, name).toBeLessThan(Date.now() + CLOCK_LEAD_MAX_MS + 2_000);
    }
  });

  it('ends with every replica holding the same value after writes at once over its key', async () => {
    const { key, outsider } = keyWithOutsider('raced');
    await put(node(names[FAST] as string), key, 'from the fast clock');
    // All refused with the same version in their first round, all written again above it.
    const values = Array.from({ length: 8 }, (_, i) => `value ${i}`);
    const versions = await Promise.all(values.map((value) => put(node(outsider), key, value)));
    const distinct = new Set(versions.map((v) => `${v.wallMs}/${v.counter}/${v.node}`));
    expect(distinct.size).toBe(values.length);
    const newest = versions.reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
    const winner = values[versions.indexOf(newest)] as string;
    // At `one` each replica answers from its own store.
    for (const name of replicasOf(key)) {
      expect(await read(node(name), key, 'one'), name).toBe(`200 ${winner}`);
    }
  });
});
