// While a node is outvoted on its partition count it serves no data, to clients or to peers; the
// moment it is not, requests pass through untouched.

import { describe, expect, it } from 'vitest';
import type { Consistency } from '../../../src/config.js';
import type { KvService, PutRequest } from '../../../src/kv/kv-service.js';
import { refusingHandlers, refusingKv } from '../../../src/replication/outvoted-guard.js';

const VERSION = { wallMs: 1, counter: 0, node: 'n' };

function putRequest(consistency: Consistency): PutRequest {
  return {
    key: 'k',
    value: Buffer.from('v'),
    contentType: 'text/plain',
    ttlMs: undefined,
    consistency,
  };
}

function recordingKv(calls: string[]): KvService {
  return {
    get: (key, consistency) => {
      calls.push(`get ${key} ${consistency}`);
      return Promise.resolve({
        value: Buffer.from('v'),
        contentType: 'text/plain',
        version: VERSION,
      });
    },
    put: (request) => {
      calls.push(`put ${request.key} ${request.consistency}`);
      return Promise.resolve(VERSION);
    },
    delete: (key, consistency) => {
      calls.push(`delete ${key} ${consistency}`);
      return Promise.resolve(VERSION);
    },
    list: (request) => {
      calls.push(`list ${request.prefix} ${request.limit}`);
      return Promise.resolve({ keys: ['a'], resumeAfter: 'a' });
    },
  };
}

describe('the outvoted guard', () => {
  it('answers clients NOT_READY with the reason while refusing, and passes through otherwise', async () => {
    const calls: string[] = [];
    let reason: string | undefined = 'partition count differs';
    const kv = refusingKv(recordingKv(calls), () => reason);
    const refused = { code: 'NOT_READY', message: 'partition count differs' };
    await expect(kv.get('k', 'quorum')).rejects.toMatchObject(refused);
    await expect(kv.put(putRequest('quorum'))).rejects.toMatchObject(refused);
    await expect(kv.delete('k', 'quorum')).rejects.toMatchObject(refused);
    await expect(kv.list({ prefix: 'p', after: undefined, limit: 10 })).rejects.toMatchObject(
      refused,
    );
    expect(calls).toEqual([]);

    reason = undefined;
    expect((await kv.get('k', 'one'))?.value.toString()).toBe('v');
    expect(await kv.put(putRequest('all'))).toEqual(VERSION);
    expect(await kv.delete('k', 'quorum')).toEqual(VERSION);
    expect(await kv.list({ prefix: 'p', after: undefined, limit: 10 })).toEqual({
      keys: ['a'],
      resumeAfter: 'a',
    });
    expect(calls).toEqual(['get k one', 'put k all', 'delete k quorum', 'list p 10']);
  });

  it('fails every peer request while refusing, without running its handler', async () => {
    const ran: string[] = [];
    let reason: string | undefined = 'partition count differs';
    const handlers = refusingHandlers(
      {
        applyBatch: (params) => {
          ran.push('applyBatch');
          return Promise.resolve(params);
        },
        digest: () => {
          ran.push('digest');
          return Promise.resolve('d');
        },
      },
      () => reason,
    );
    const from = { addr: '10.0.0.1', port: 7946 };
    await expect(handlers['applyBatch']?.({ items: [] }, from)).rejects.toMatchObject({
      code: 'NOT_READY',
    });
    await expect(handlers['digest']?.({}, from)).rejects.toMatchObject({ code: 'NOT_READY' });
    expect(ran).toEqual([]);
    reason = undefined;
    expect(await handlers['applyBatch']?.({ items: [1] }, from)).toEqual({ items: [1] });
    expect(ran).toEqual(['applyBatch']);
  });
});
