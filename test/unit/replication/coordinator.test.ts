import { describe, expect, it } from 'vitest';
import type { ClusterView, MemberView } from '../../../src/cluster/cluster-view.js';
import { Envelope } from '../../../src/cluster/envelope.js';
import { Coordinator, required } from '../../../src/replication/coordinator.js';
import { fromWire, toWire, type WireRecord } from '../../../src/replication/wire-record.js';
import { Partitioner } from '../../../src/replication/partitioner.js';
import { PeerRpcClient } from '../../../src/replication/peer-rpc.js';
import { RecentDepartures } from '../../../src/replication/recent-departures.js';
import { TombstonePolicy, type PurgeWitness } from '../../../src/replication/tombstone-policy.js';
import { HybridLogicalClock } from '../../../src/store/hlc.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import type { StoredRecord } from '../../../src/store/record.js';

describe('quorum arithmetic', () => {
  it.each([
    ['one', 3, 1],
    ['quorum', 3, 2],
    ['all', 3, 3],
    ['quorum', 5, 3],
    ['quorum', 4, 3],
    ['quorum', 1, 1],
    ['all', 1, 1],
    ['one', 0, 0],
  ] as const)('%s of %i replicas needs %i', (level, n, needed) => {
    expect(required(level, n)).toBe(needed);
  });
});

describe('records between nodes', () => {
  const record: StoredRecord = {
    key: 'users/42',
    value: Buffer.from([0, 1, 2, 255]),
    contentType: 'application/octet-stream',
    version: { wallMs: 1_795_930_516_092, counter: 3, node: 'shoal-1' },
    tombstone: false,
    expiresAtMs: 0,
  };

  it('round-trip exactly', () => {
    expect(fromWire(toWire(record))).toEqual(record);
  });

  it('accepts the plain Uint8Array msgpack decodes binary into', () => {
    const wire = { ...toWire(record), value: new Uint8Array([9, 8]) };
    expect(fromWire(wire).value.equals(Buffer.from([9, 8]))).toBe(true);
  });

  it.each([
    ['a missing key', { key: undefined }],
    ['a string value', { value: 'text' }],
    ['a fractional counter', { counter: 1.5 }],
    ['a string tombstone flag', { tombstone: 'yes' }],
    ['an empty key', { key: '' }],
    ['a key over the longest allowed', { key: 'k'.repeat(1901) }],
    ['a counter over 32 bits', { counter: 2 ** 32 }],
    ['a version time over 48 bits', { wallMs: 2 ** 48 }],
    ['a negative expiry', { expiresAtMs: -1 }],
    ['a tombstone with an expiry', { tombstone: true, value: new Uint8Array(0), expiresAtMs: 5 }],
    ['a node name over 255 bytes', { node: 'é'.repeat(128) }],
    ['a content type beyond Latin-1', { contentType: 'text/☃' }],
  ])('refuses a record with %s', (_, change) => {
    expect(() => fromWire({ ...toWire(record), ...change } as unknown as WireRecord)).toThrow(
      /malformed/,
    );
  });
});

describe('a coordinator on its own', () => {
  const observed: string[] = [];
  const observer = {
    request: (op: string, consistency: string, outcome: string) =>
      observed.push(`${op} ${consistency} ${outcome}`),
    readRepair: () => observed.push('repair'),
  };

  function coordinator(state: 'alive' | 'left'): Coordinator {
    const self: MemberView = {
      name: 'solo',
      addr: '127.0.0.1',
      gossipPort: 7946,
      httpPort: 8080,
      state,
      incarnation: 1,
    };
    const cluster: ClusterView & PurgeWitness = {
      selfName: 'solo',
      joined: true,
      generation: 0,
      members: () => [self],
      forceRemove: () => 'alive',
    };
    const departures = new RecentDepartures(cluster);
    return new Coordinator({
      store: new MemoryStore(16),
      clock: new HybridLogicalClock('solo'),
      cluster,
      partitioner: new Partitioner(16, 3),
      rpc: new PeerRpcClient(new Envelope('shoal', undefined)),
      observer,
      hints: { add: () => Promise.resolve(false) },
      tombstones: new TombstonePolicy(60_000, cluster, departures),
      departures,
    });
  }

  it('serves every consistency level with the one replica a single node has', async () => {
    const kv = coordinator('alive');
    for (const consistency of ['one', 'quorum', 'all'] as const) {
      const version = await kv.put({
        key: 'k',
        value: Buffer.from(consistency),
        contentType: 'text/plain',
        ttlMs: undefined,
        consistency,
      });
      expect((await kv.get('k', consistency))?.version).toEqual(version);
    }
    expect((await kv.list({ prefix: '', after: undefined, limit: 10 })).keys).toEqual(['k']);
    expect(await kv.delete('k', 'all')).toBeDefined();
    expect(await kv.get('k', 'quorum')).toBeUndefined();
    expect(await kv.delete('k', 'all')).toBeUndefined();
    expect(observed).toContain('put all ok');
  });

  it('refuses at once, not hangs, when no member may hold the key (this node has left)', async () => {
    const kv = coordinator('left');
    const write = kv.put({
      key: 'k',
      value: Buffer.from('v'),
      contentType: 'text/plain',
      ttlMs: undefined,
      consistency: 'one',
    });
    await expect(write).rejects.toMatchObject({
      code: 'QUORUM_UNAVAILABLE',
      details: { needed: 1, reached: 0 },
    });
    await expect(kv.get('k', 'one')).rejects.toMatchObject({ code: 'QUORUM_UNAVAILABLE' });
    expect(observed).toContain('put one unavailable');
  });
});
