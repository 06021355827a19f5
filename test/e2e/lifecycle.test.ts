// A node's life as an operator sees it: data that survives a restart, keys that expire, a clean
// exit on SIGTERM and SIGINT, and start-up refused (exit 2, one line) on bad configuration.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import {
  makeTempDir,
  runShoal,
  runSummary,
  serveEnv,
  startShoal,
  type ShoalProcess,
} from '../support/shoal-process.js';
import { expectError, gaugeValue, heldRecords, waitFor, waitUntil } from './helpers.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function put(
  node: ShoalProcess,
  key: string,
  body: RequestInit['body'],
  options: { query?: string; contentType?: string } = {},
): Promise<string> {
  const response = await fetch(
    `${node.url}/v1/kv/${encodeURIComponent(key)}${options.query ?? ''}`,
    {
      method: 'PUT',
      body,
      headers: options.contentType === undefined ? {} : { 'content-type': options.contentType },
    },
  );
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return (JSON.parse(text) as { version: string }).version;
}

function get(node: ShoalProcess, key: string): Promise<Response> {
  return fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`);
}

async function remove(node: ShoalProcess, key: string): Promise<void> {
  const response = await fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'DELETE',
  });
  expect(response.status, await response.text()).toBe(200);
}

describe('restart', () => {
  // The first run ends with SIGTERM, the second with SIGINT: both must exit 0, promptly (the
  // bound of waitForExit), although fetch keeps its connections to the node open.
  it('keeps values, content types and deletions across a restart; exits 0 on SIGTERM and SIGINT', async () => {
    const dataDir = makeTempDir();
    const first = await startShoal({ dataDir, nodeName: 'keeper' });
    await put(first, 'text', 'hello', { contentType: 'text/plain; charset=utf-8' });
    await put(first, 'binary', ALL_BYTES);
    await put(first, 'json', '{"n":1}', { contentType: 'application/json' });
    await put(first, 'changed', 'old');
    await put(first, 'changed', 'new', { contentType: 'text/plain' });
    await put(first, 'deleted', 'soon gone');
    await remove(first, 'deleted');
    const versionBefore = (await get(first, 'text')).headers.get('etag');
    first.signal('SIGTERM');
    expect(await first.waitForExit(10_000)).toEqual({ code: 0, signal: null });

    const second = await startShoal({ dataDir, nodeName: 'keeper' });
    const text = await get(second, 'text');
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('etag')).toBe(versionBefore);
    expect(await text.text()).toBe('hello');

    const binary = await get(second, 'binary');
    expect(binary.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await binary.arrayBuffer()).equals(ALL_BYTES)).toBe(true);

    const json = await get(second, 'json');
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.text()).toBe('{"n":1}');

    const changed = await get(second, 'changed');
    expect(changed.headers.get('content-type')).toBe('text/plain');
    expect(await changed.text()).toBe('new');

    await expectError(await get(second, 'deleted'), 404, 'NOT_FOUND');
    const listed = (await (await fetch(`${second.url}/v1/kv`)).json()) as { keys: string[] };
    expect(listed.keys).toEqual(['binary', 'changed', 'json', 'text']);
    expect(await gaugeValue(second.url, 'shoal_store_keys')).toBe(4);

    // A write after the restart is newer than the one before it.
    const newer = await put(second, 'text', 'hello again');
    expect(`"${newer}"`).not.toBe(versionBefore);
    expect(await (await get(second, 'text')).text()).toBe('hello again');

    second.signal('SIGINT');
    expect(await second.waitForExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it('serves from a data directory whose name contains a dot', async () => {
    const dataDir = join(makeTempDir(), 'shoal.data');
    const node = await startShoal({ dataDir });
    await put(node, 'k', 'v');
    expect(await (await get(node, 'k')).text()).toBe('v');
    expect(await node.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('expiry', () => {
  it('reads a key put with ?ttl=1s at once, 404 once it expires, and purges it after the grace period', async () => {
    const graceS = 5;
    const node = await startShoal({ env: { SHOAL_TOMBSTONE_GRACE_SECONDS: String(graceS) } });
    await put(node, 'lasting', 'stays', { query: '?ttl=1h' });
    const before = await gaugeValue(node.url, 'shoal_store_keys');

    await put(node, 'brief', 'short-lived', { query: '?ttl=1s' });
    const fresh = await get(node, 'brief');
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toBe('short-lived');
    expect(await heldRecords(node.url)).toBe(2);

    await waitFor('the key to expire', async () => {
      const response = await get(node, 'brief');
      await response.arrayBuffer();
      return response.status === 404 ? true : undefined;
    });
    await expectError(await get(node, 'brief'), 404, 'NOT_FOUND');
    const listed = (await (await fetch(`${node.url}/v1/kv`)).json()) as { keys: string[] };
    expect(listed.keys).toEqual(['lasting']);
    // No longer a live key, yet still held: an expired record stands for a delete, which
    // replicas must keep for the grace period (else one that missed it spreads an older value).
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe(before);
    expect(await heldRecords(node.url)).toBe(2);

    // Past the grace period the background purge removes it from the store.
    await waitUntil(
      'the expired record to be purged',
      async () => (await heldRecords(node.url)) === 1,
    );
    expect(await (await get(node, 'lasting')).text()).toBe('stays');
    await node.stop();
  });
});

describe('bad configuration', () => {
  const cases: { name: string; env?: Record<string, string>; args?: string[]; names: string }[] = [
    { name: 'SHOAL_HTTP_PORT=abc', env: { SHOAL_HTTP_PORT: 'abc' }, names: 'SHOAL_HTTP_PORT' },
    { name: 'SHOAL_HTTP_PORT=70000', env: { SHOAL_HTTP_PORT: '70000' }, names: 'SHOAL_HTTP_PORT' },
    {
      name: 'SHOAL_REPLICATION_FACTOR=0',
      env: { SHOAL_REPLICATION_FACTOR: '0' },
      names: 'SHOAL_REPLICATION_FACTOR',
    },
    {
      name: 'SHOAL_WRITE_CONSISTENCY=most',
      env: { SHOAL_WRITE_CONSISTENCY: 'most' },
      names: 'SHOAL_WRITE_CONSISTENCY',
    },
    {
      name: 'SHOAL_GOSSIP_KEYS=notbase64',
      env: { SHOAL_GOSSIP_KEYS: 'notbase64' },
      names: 'SHOAL_GOSSIP_KEYS',
    },
    {
      name: 'SHOAL_BIND_ADDR=nonsense',
      env: { SHOAL_BIND_ADDR: 'nonsense' },
      names: 'SHOAL_BIND_ADDR',
    },
    { name: 'SHOAL_LOG_LEVEL=loud', env: { SHOAL_LOG_LEVEL: 'loud' }, names: 'SHOAL_LOG_LEVEL' },
    {
      name: 'SHOAL_MAX_VALUE_BYTES=0',
      env: { SHOAL_MAX_VALUE_BYTES: '0' },
      names: 'SHOAL_MAX_VALUE_BYTES',
    },
    { name: 'an unknown flag --nope', args: ['--nope'], names: '--nope' },
    {
      name: 'a bad flag over a good variable (--log-level loud)',
      env: { SHOAL_LOG_LEVEL: 'warn' },
      args: ['--log-level', 'loud'],
      names: 'SHOAL_LOG_LEVEL',
    },
  ];

  it.each(cases)('$name: exit 2 with one stderr line naming it', async (c) => {
    const result = await runShoal(['serve', ...(c.args ?? [])], await serveEnv(c.env));
    expect(result.code, runSummary(result)).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain(c.names);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a data directory that is a regular file: exit 2 with one stderr line naming it', async () => {
    const file = join(makeTempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const result = await runShoal(['serve'], await serveEnv({ SHOAL_DATA_DIR: file }));
    expect(result.code, runSummary(result)).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain('SHOAL_DATA_DIR');
  });

  it('a valid flag wins over an invalid variable', async () => {
    const httpPort = await freePort();
    const node = await startShoal({
      httpPort,
      env: { SHOAL_HTTP_PORT: 'abc' },
      args: ['--http-port', String(httpPort)],
    });
    const health = await fetch(`${node.url}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    await node.stop();
  });

  it('refuses a data directory made with another SHOAL_PARTITIONS: exit 2, clear message', async () => {
    const dataDir = makeTempDir();
    const first = await startShoal({ dataDir, env: { SHOAL_PARTITIONS: '16' } });
    await put(first, 'k', 'kept');
    await first.stop();

    const refused = await runShoal(
      ['serve'],
      await serveEnv({ SHOAL_DATA_DIR: dataDir, SHOAL_PARTITIONS: '32' }),
    );
    expect(refused.code, runSummary(refused)).toBe(2);
    expect(refused.stderr).toMatch(/partition/i);
    expect(refused.stderr).toContain('16');
    expect(refused.stderr).toContain('32');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it.each(['store.mdb', 'hints.mdb'])(
    'refuses a data directory whose %s is not an LMDB file: exit 1, clear message, file untouched',
    async (file) => {
      const dataDir = makeTempDir();
      const garbage = randomBytes(64 * 1024);
      writeFileSync(join(dataDir, file), garbage);
      const refused = await runShoal(['serve'], await serveEnv({ SHOAL_DATA_DIR: dataDir }));
      expect(refused.code, runSummary(refused)).toBe(1);
      expect(refused.signal).toBeNull();
      expect(refused.stderr).toContain(join(dataDir, file));
      expect(refused.stderr).toContain('not an LMDB data file');
      expect(readFileSync(join(dataDir, file)).equals(garbage)).toBe(true);
    },
  );
});
