import { describe, expect, it } from 'vitest';
import {
  batchItems,
  PEER_BATCH_ITEMS_MAX,
  PeerBatcher,
} from '../../../src/replication/peer-batcher.js';
import { PeerRpcError, type PeerCaller } from '../../../src/replication/peer-rpc.js';

const A = { addr: '10.0.0.1', port: 7946 };
const B = { addr: '10.0.0.2', port: 7946 };

/** Records every call; answers each item with `reply(item)`, or fails when `fail` is set. */
function recorder(reply: (item: unknown) => unknown = (item) => item, fail?: Error) {
  const calls: { to: string; method: string; items: unknown[] }[] = [];
  const rpc: PeerCaller = {
    call: (to, method, params) => {
      const items = batchItems(params);
      calls.push({ to: to.addr, method, items });
      return fail ? Promise.reject(fail) : Promise.resolve(items.map(reply));
    },
  };
  return { rpc, calls };
}

describe('peer batching', () => {
  it('sends what one turn asks of a peer as one request, and answers each item', async () => {
    const { rpc, calls } = recorder((item) => `got ${String(item)}`);
    const batcher = new PeerBatcher(rpc, 'getBatch', 1_000);
    const replies = await Promise.all([
      batcher.call(A, 'x'),
      batcher.call(B, 'y'),
      batcher.call(A, 'z'),
    ]);
    expect(replies).toEqual(['got x', 'got y', 'got z']);
    expect(calls).toEqual([
      { to: '10.0.0.1', method: 'getBatch', items: ['x', 'z'] },
      { to: '10.0.0.2', method: 'getBatch', items: ['y'] },
    ]);
    await batcher.call(A, 'later');
    expect(calls).toHaveLength(3);
  });

  it('splits a turn into requests of at most the item and byte bounds', async () => {
    const { rpc, calls } = recorder();
    const batcher = new PeerBatcher(rpc, 'applyBatch', 1_000);
    await Promise.all(
      Array.from({ length: PEER_BATCH_ITEMS_MAX + 10 }, (_, i) => batcher.call(A, i)),
    );
    expect(calls.map((c) => c.items.length)).toEqual([PEER_BATCH_ITEMS_MAX, 10]);
    await Promise.all([0, 1, 2].map((i) => batcher.call(A, i, 1_500_000)));
    expect(calls.slice(2).map((c) => c.items.length)).toEqual([1, 1, 1]);
  });

  it('asks again in halves when the reply would not fit a frame, down to single items', async () => {
    const calls: number[] = [];
    const rpc: PeerCaller = {
      call: (_to, _method, params) => {
        const items = batchItems(params);
        calls.push(items.length);
        // As a replica answers reads of large values: more than two do not fit one reply.
        if (items.length > 2) {
          return Promise.reject(
            new PeerRpcError('PEER_ERROR', 'reply of 9 MiB', 'REPLY_TOO_LARGE'),
          );
        }
        return Promise.resolve(items.map((item) => `value of ${String(item)}`));
      },
    };
    const batcher = new PeerBatcher(rpc, 'getBatch', 1_000);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const replies = await Promise.all(keys.map((key) => batcher.call(A, key)));
    expect(replies).toEqual(keys.map((key) => `value of ${key}`));
    expect(calls).toEqual([5, 3, 2, 2, 1]);
  });

  it('fails every item of a request that fails, or is answered with no items, too many or no list', async () => {
    const failing = new PeerBatcher(recorder(undefined, new Error('down')).rpc, 'getBatch', 1_000);
    const failed = await Promise.allSettled([failing.call(A, 1), failing.call(A, 2)]);
    expect(failed.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
      'Error: down',
      'Error: down',
    ]);
    for (const answer of [[], ['one', 'two', 'three'], 'not a list']) {
      const wrong: PeerCaller = { call: () => Promise.resolve(answer) };
      const batcher = new PeerBatcher(wrong, 'getBatch', 1_000);
      const results = await Promise.allSettled([batcher.call(A, 1), batcher.call(A, 2)]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    }
  });

  it('asks again for the items a reply left out, as a replica does past its reply budget', async () => {
    const calls: unknown[][] = [];
    // Answers the first two items it is asked, at most.
    const rpc: PeerCaller = {
      call: (_to, _method, params) => {
        const items = batchItems(params);
        calls.push(items);
        return Promise.resolve(items.slice(0, 2).map((item) => `value of ${String(item)}`));
      },
    };
    const batcher = new PeerBatcher(rpc, 'getBatch', 1_000);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const replies = await Promise.all(keys.map((key) => batcher.call(A, key)));
    expect(replies).toEqual(keys.map((key) => `value of ${key}`));
    expect(calls).toEqual([keys, ['c', 'd', 'e'], ['e']]);
  });

  it('refuses a batch that is not a list or is too long', () => {
    expect(() => batchItems({ items: 'x' })).toThrow(/list/);
    expect(() => batchItems(null)).toThrow(/list/);
    expect(() => batchItems({ items: new Array(PEER_BATCH_ITEMS_MAX + 1).fill(0) })).toThrow();
  });
});
