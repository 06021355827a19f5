// Every route of the HTTP API on one real `shoal serve` process, its successes and each of its
// errors. Limits are small (16-byte keys, 1024-byte values) so testing them costs nothing.

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShoal, type ShoalProcess } from '../support/shoal-process.js';
import { gzipSync } from 'node:zlib';
import { expectError, fetchMetrics, findSamples, rawRequest, waitUntil } from './helpers.js';

const MAX_KEY_BYTES = 16;
const MAX_VALUE_BYTES = 1024;

let node: ShoalProcess;

beforeAll(async () => {
  node = await startShoal({
    env: {
      SHOAL_MAX_KEY_BYTES: String(MAX_KEY_BYTES),
      SHOAL_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
    },
  });
});

afterAll(async () => {
  await node?.stop();
});

/** `path` is sent as written (percent-encoding included); it must start with '/'. */
function call(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${node.url}${path}`, init);
}

function kvPath(key: string, query = ''): string {
  return `/v1/kv/${encodeURIComponent(key)}${query}`;
}

async function put(
  key: string,
  body: RequestInit['body'],
  headers?: RequestInit['headers'],
): Promise<string> {
  const response = await call(kvPath(key), { method: 'PUT', body, headers });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const json = JSON.parse(text) as { key: string; version: string };
  expect(json.key).toBe(key);
  expect(typeof json.version).toBe('string');
  return json.version;
}

async function getBytes(path: string): Promise<Buffer> {
  const response = await call(path);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

interface ListPage {
  keys: string[];
  next_cursor: string | null;
}

async function list(query: string): Promise<ListPage> {
  const response = await call(`/v1/kv?${query}`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as ListPage;
}

/** Sends the chunks with chunked transfer encoding (no Content-Length) and returns the answer. */
function putChunked(path: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${node.url}${path}`,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        const received: Buffer[] = [];
        res.on('data', (chunk: Buffer) => received.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(received).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('PUT, GET and DELETE /v1/kv/{key}', () => {
  it('stores raw bytes, every byte value 0..255 included, and returns them unchanged', async () => {
    await put('bytes', ALL_BYTES);
    expect((await getBytes('/v1/kv/bytes')).equals(ALL_BYTES)).toBe(true);
  });

  it('keeps the Content-Type the value was written with', async () => {
    await put('typed', '{"a":1}', { 'content-type': 'application/json; charset=utf-8' });
    const response = await call('/v1/kv/typed');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.text()).toBe('{"a":1}');
  });

  it('stores application/octet-stream when the request has no Content-Type', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${node.url}/v1/kv/untyped`, { method: 'PUT' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(Buffer.from('plain bytes'));
    });
    expect(status).toBe(200);
    const response = await call('/v1/kv/untyped');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(await response.text()).toBe('plain bytes');
  });

  it('answers an ETag equal to the version returned by PUT, and 304 for If-None-Match', async () => {
    const version = await put('tagged', 'v1');
    const first = await call('/v1/kv/tagged');
    await first.arrayBuffer();
    expect(first.headers.get('etag')).toBe(`"${version}"`);

    const notModified = await call('/v1/kv/tagged', {
      headers: { 'if-none-match': `"${version}"` },
    });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');

    const newer = await put('tagged', 'v2');
    expect(newer).not.toBe(version);
    const changed = await call('/v1/kv/tagged', { headers: { 'if-none-match': `"${version}"` } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe(`"${newer}"`);
    expect(await changed.text()).toBe('v2');
  });

  it('accepts keys holding "/", unicode, and a percent-encoded %2F', async () => {
    await put('a/b/c', 'slashes');
    expect((await getBytes('/v1/kv/a/b/c')).toString()).toBe('slashes');

    await put('café/☃', 'unicode');
    expect((await getBytes('/v1/kv/caf%C3%A9/%E2%98%83')).toString()).toBe('unicode');

    const created = await call('/v1/kv/x%2Fy', { method: 'PUT', body: 'encoded slash' });
    expect(await created.json()).toMatchObject({ key: 'x/y' });
    expect((await getBytes('/v1/kv/x/y')).toString()).toBe('encoded slash');
    expect((await getBytes('/v1/kv/x%2Fy')).toString()).toBe('encoded slash');
  });

  it('overwrites a value with a newer version', async () => {
    const first = await put('over', 'one');
    const second = await put('over', 'two');
    expect(second).not.toBe(first);
    expect((await getBytes('/v1/kv/over')).toString()).toBe('two');
  });

  it('answers 404 NOT_FOUND for an absent key and for a deleted one', async () => {
    await expectError(await call('/v1/kv/never-written'), 404, 'NOT_FOUND');

    const written = await put('doomed', 'x');
    const deleted = await call('/v1/kv/doomed', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const body = (await deleted.json()) as { key: string; version: string };
    expect(body.key).toBe('doomed');
    expect(body.version).not.toBe(written);
    await expectError(await call('/v1/kv/doomed'), 404, 'NOT_FOUND');
  });

  it('answers 404 NOT_FOUND to a DELETE of an absent or already deleted key', async () => {
    await expectError(await call('/v1/kv/ghost', { method: 'DELETE' }), 404, 'NOT_FOUND');
    await put('twice', 'x');
    expect((await call('/v1/kv/twice', { method: 'DELETE' })).status).toBe(200);
    await expectError(await call('/v1/kv/twice', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });

  it('accepts ?consistency=one|quorum|all on PUT, GET and DELETE', async () => {
    for (const level of ['one', 'quorum', 'all']) {
      const key = `c-${level}`;
      const written = await call(kvPath(key, `?consistency=${level}`), {
        method: 'PUT',
        body: level,
      });
      expect(written.status, await written.text()).toBe(200);
      expect((await getBytes(kvPath(key, `?consistency=${level}`))).toString()).toBe(level);
      const removed = await call(kvPath(key, `?consistency=${level}`), { method: 'DELETE' });
      expect(removed.status).toBe(200);
    }
  });

  it('answers 400 BAD_QUERY to a bad consistency on PUT, GET and DELETE', async () => {
    await put('cq', 'x');
    await expectError(
      await call('/v1/kv/cq?consistency=bogus', { method: 'PUT', body: 'y' }),
      400,
      'BAD_QUERY',
    );
    await expectError(await call('/v1/kv/cq?consistency=bogus'), 400, 'BAD_QUERY');
    await expectError(
      await call('/v1/kv/cq?consistency=bogus', { method: 'DELETE' }),
      400,
      'BAD_QUERY',
    );
    await expectError(await call('/v1/kv/cq?consistency=one&consistency=all'), 400, 'BAD_QUERY');
    // None of the refused writes changed the value.
    expect((await getBytes('/v1/kv/cq')).toString()).toBe('x');
  });

  it('accepts every documented ttl form', async () => {
    for (const ttl of ['30s', '5m', '2h', '1d', '500ms', '3600']) {
      const response = await call(kvPath('ttl-ok', `?ttl=${ttl}`), { method: 'PUT', body: ttl });
      expect(response.status, `ttl=${ttl}: ${await response.text()}`).toBe(200);
    }
    expect((await getBytes('/v1/kv/ttl-ok')).toString()).toBe('3600');
  });

  it.each(['', 'abc', '0', '0s', '-5', '1.5s', '10y', '5%20m', 's', '99999999999d', '1s&ttl=2s'])(
    'answers 400 BAD_QUERY to ttl=%s',
    async (ttl) => {
      await expectError(
        await call(`/v1/kv/ttl-bad?ttl=${ttl}`, { method: 'PUT', body: 'x' }),
        400,
        'BAD_QUERY',
      );
      await expectError(await call('/v1/kv/ttl-bad'), 404, 'NOT_FOUND');
    },
  );

  it('answers 400 BAD_KEY to malformed percent-encoding and to invalid UTF-8', async () => {
    for (const path of [
      '/v1/kv/%ZZ',
      '/v1/kv/a%',
      '/v1/kv/%FF',
      '/v1/kv/%C3',
      '/v1/kv/%ED%A0%80',
    ]) {
      await expectError(await call(path), 400, 'BAD_KEY');
      await expectError(await call(path, { method: 'PUT', body: 'x' }), 400, 'BAD_KEY');
      await expectError(await call(path, { method: 'DELETE' }), 400, 'BAD_KEY');
    }
  });

  it('answers 400 BAD_KEY to an empty key', async () => {
    await expectError(await call('/v1/kv/', { method: 'PUT', body: 'x' }), 400, 'BAD_KEY');
    await expectError(await call('/v1/kv/'), 400, 'BAD_KEY');
  });

  it('takes a key of exactly SHOAL_MAX_KEY_BYTES and refuses one byte more with BAD_KEY', async () => {
    const atLimit = 'k'.repeat(MAX_KEY_BYTES);
    await put(atLimit, 'fits');
    expect((await getBytes(kvPath(atLimit))).toString()).toBe('fits');

    const overLimit = 'k'.repeat(MAX_KEY_BYTES + 1);
    await expectError(await call(kvPath(overLimit), { method: 'PUT', body: 'x' }), 400, 'BAD_KEY');
    await expectError(await call(kvPath(overLimit)), 400, 'BAD_KEY');

    // The limit counts UTF-8 bytes, not characters: 8 × "é" is 16 bytes, 9 × is 18.
    await put('é'.repeat(8), 'fits too');
    await expectError(
      await call(kvPath('é'.repeat(9)), { method: 'PUT', body: 'x' }),
      400,
      'BAD_KEY',
    );
  });

  it('takes a value of exactly SHOAL_MAX_VALUE_BYTES and refuses one byte more with 413', async () => {
    const atLimit = Buffer.alloc(MAX_VALUE_BYTES, 0xab);
    await put('v-limit', atLimit);
    expect((await getBytes('/v1/kv/v-limit')).equals(atLimit)).toBe(true);

    await expectError(
      await call('/v1/kv/v-over', { method: 'PUT', body: Buffer.alloc(MAX_VALUE_BYTES + 1) }),
      413,
      'VALUE_TOO_LARGE',
    );
    await expectError(await call('/v1/kv/v-over'), 404, 'NOT_FOUND');
  });

  it('cuts off a chunked upload once it passes the limit with 413, and takes one at the limit', async () => {
    const half = Buffer.alloc(MAX_VALUE_BYTES / 2, 1);
    const over = await putChunked('/v1/kv/chunked', [half, half, Buffer.from([1])]);
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body)).toMatchObject({ error: { code: 'VALUE_TOO_LARGE' } });
    await expectError(await call('/v1/kv/chunked'), 404, 'NOT_FOUND');

    const exact = await putChunked('/v1/kv/chunked', [half, half]);
    expect(exact.status, exact.body).toBe(200);
    expect((await getBytes('/v1/kv/chunked')).equals(Buffer.concat([half, half]))).toBe(true);
  });
});

describe('GET /v1/kv (listing)', () => {
  // Byte order differs from JavaScript's UTF-16 order: U+FF21 sorts before U+1F600 in UTF-8.
  const names = ['a', 'B', 'b', 'é', 'z', '\uff21', '\u{1f600}', 'a/x', '0', '~', 'aa', 'ab'];
  const keys = names.map((n) => `ls/${n}`);
  const byBytes = (a: string, b: string): number =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

  beforeAll(async () => {
    for (const key of keys) await put(key, key);
    await put('lt', 'outside the prefix');
    await put('ls/gone', 'deleted below');
    expect((await call(kvPath('ls/gone'), { method: 'DELETE' })).status).toBe(200);
  });

  it('lists the live keys of a prefix in UTF-8 byte order, deleted keys excluded', async () => {
    const page = await list(`prefix=${encodeURIComponent('ls/')}&limit=1000`);
    expect(page.keys).toEqual([...keys].sort(byBytes));
    expect(page.next_cursor).toBeNull();
  });

  it('pages through the prefix without duplicates or gaps, whatever the page size', async () => {
    const expected = [...keys].sort(byBytes);
    for (const limit of [1, 3, 5, keys.length, keys.length + 1]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string =
          `prefix=${encodeURIComponent('ls/')}&limit=${limit}` +
          (cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`);
        const page = await list(query);
        expect(page.keys.length).toBeLessThanOrEqual(limit);
        seen.push(...page.keys);
        cursor = page.next_cursor;
        pages++;
        expect(pages, 'listing must end').toBeLessThanOrEqual(keys.length + 2);
      } while (cursor !== null);
      expect(seen, `limit=${limit}`).toEqual(expected);
    }
  });

  it('lists every prefix when none is given, and nothing for an unused prefix', async () => {
    const all = await list('limit=1000');
    expect(all.keys).toEqual(expect.arrayContaining([...keys, 'lt']));
    expect(all.keys).toEqual([...all.keys].sort(byBytes));
    expect(all.keys).not.toContain('ls/gone');
    expect(await list('prefix=nothing-here')).toEqual({ keys: [], next_cursor: null });
  });

  it.each(['0', '1001', 'abc', '-1', '1.5', ''])(
    'answers 400 BAD_QUERY to limit=%s',
    async (limit) => {
      await expectError(await call(`/v1/kv?limit=${limit}`), 400, 'BAD_QUERY');
    },
  );

  it('answers 400 BAD_QUERY to a cursor it did not hand out', async () => {
    for (const cursor of ['not*base64', '%FF', '_w', 'a'.repeat(100)]) {
      await expectError(await call(`/v1/kv?cursor=${cursor}`), 400, 'BAD_QUERY');
    }
  });
});

describe('seed-compatible routes', () => {
  it('PUT /put stores a JSON {key, value}, with or without a JSON Content-Type', async () => {
    const typed = await call('/put', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'seed1', value: 'one' }),
    });
    expect(typed.status, await typed.text()).toBe(200);
    const untyped = await call('/put', {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ key: 'seed2', value: 'two' }),
    });
    expect(untyped.status, await untyped.text()).toBe(200);
    const plain = await call('/put', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ key: 'seed3', value: 'three' }),
    });
    expect(plain.status, await plain.text()).toBe(200);

    expect((await getBytes('/v1/kv/seed1')).toString()).toBe('one');
    expect((await getBytes('/v1/kv/seed2')).toString()).toBe('two');
    expect(await (await call('/get?key=seed3')).json()).toBe('three');
  });

  it('PUT /put answers 400 BAD_BODY to malformed JSON and to a value that is not a string', async () => {
    for (const body of ['{bad', '[1]', '"text"', 'null', '{"key":"k","value":1}', '{"key":"k"}']) {
      const response = await call('/put', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await expectError(response, 400, 'BAD_BODY');
    }
    await expectError(
      await call('/put', { method: 'PUT', body: '{"key":7,"value":"v"}' }),
      400,
      'BAD_KEY',
    );
    // An empty body holds neither a key nor a value: refused, whichever it names.
    const empty = await call('/put', { method: 'PUT', body: '' });
    const code = (await empty.clone().json()) as { error: { code: string } };
    expect(['BAD_BODY', 'BAD_KEY']).toContain(code.error.code);
    await expectError(empty, 400, code.error.code);
    await expectError(await call('/get?key=k'), 404, 'NOT_FOUND');
  });

  it('PUT /put refuses a body that is not UTF-8 or a value with a lone surrogate; other text stays exact', async () => {
    const notUtf8 = Buffer.concat([
      Buffer.from('{"key":"u8","value":"a'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('b"}'),
    ]);
    await expectError(await call('/put', { method: 'PUT', body: notUtf8 }), 400, 'BAD_BODY');
    await expectError(
      await call('/put', {
        method: 'PUT',
        body: gzipSync(notUtf8),
        headers: { 'content-encoding': 'gzip' },
      }),
      400,
      'BAD_BODY',
    );
    await expectError(
      await call('/put', { method: 'PUT', body: '{"key":"u8","value":"a\\ud800b"}' }),
      400,
      'BAD_BODY',
    );
    await expectError(await call('/get?key=u8'), 404, 'NOT_FOUND');

    // Raw UTF-8 and JSON escapes (a surrogate pair, a Latin-1 character) keep their exact bytes.
    const ok = await call('/put', {
      method: 'PUT',
      body: Buffer.from('{"key":"u8","value":"é\\ud83d\\ude00\\u00ff✓"}', 'utf8'),
    });
    expect(ok.status, await ok.text()).toBe(200);
    expect((await getBytes('/v1/kv/u8')).equals(Buffer.from('é\u{1f600}ÿ✓', 'utf8'))).toBe(true);
  });

  it('PUT /put answers 413 to a value over the limit and to a body over the limit', async () => {
    await expectError(
      await call('/put', {
        method: 'PUT',
        body: JSON.stringify({ key: 'big', value: 'v'.repeat(MAX_VALUE_BYTES + 1) }),
      }),
      413,
      'VALUE_TOO_LARGE',
    );
    // Far past anything a key and a value within the limits could need, even JSON-escaped.
    const huge = JSON.stringify({ key: 'big', value: 'v'.repeat(MAX_VALUE_BYTES * 100) });
    const response = await call('/put', { method: 'PUT', body: huge });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string } };
    expect(['BODY_TOO_LARGE', 'VALUE_TOO_LARGE']).toContain(body.error.code);
    await expectError(await call('/get?key=big'), 404, 'NOT_FOUND');
  });

  it('GET /get?key= and GET /get/{key} answer the value as a JSON string, 404 when absent', async () => {
    await put('g/k', 'say "hi"\n');
    for (const path of ['/get?key=g%2Fk', '/get/g/k', '/get/g%2Fk']) {
      const response = await call(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.text()).toBe(JSON.stringify('say "hi"\n'));
    }
    await expectError(await call('/get?key=absent'), 404, 'NOT_FOUND');
    await expectError(await call('/get/absent'), 404, 'NOT_FOUND');
  });

  it('PUT /put reads a gzip body, and answers 400 BAD_BODY to one that does not decode', async () => {
    const body = gzipSync(JSON.stringify({ key: 'zipped', value: 'unzipped' }));
    const ok = await call('/put', { method: 'PUT', body, headers: { 'content-encoding': 'gzip' } });
    expect(ok.status).toBe(200);
    expect(await (await call('/get?key=zipped')).text()).toBe(JSON.stringify('unzipped'));
    for (const encoding of ['gzip', 'deflate', 'no-such-coding']) {
      const response = await call('/put', {
        method: 'PUT',
        body: '{"key":"k","value":"v"}',
        headers: { 'content-encoding': encoding },
      });
      await expectError(response, 400, 'BAD_BODY');
    }
  });

  it('refuses a query key or prefix that is not UTF-8, as the path forms do', async () => {
    await expectError(await call('/get?key=%FF'), 400, 'BAD_KEY');
    await expectError(await call('/get?key=%ED%A0%80'), 400, 'BAD_KEY');
    await expectError(await call('/delete?key=%FF', { method: 'DELETE' }), 400, 'BAD_KEY');
    await expectError(await call('/get?key=a&key=b'), 400, 'BAD_QUERY');
    await expectError(await call('/v1/kv?prefix=%FF'), 400, 'BAD_QUERY');
    // A "+" in a query is a space, as in form encoding.
    await put('q k', 'spaced');
    expect(await (await call('/get?key=q+k')).text()).toBe(JSON.stringify('spaced'));
  });

  it('GET /get without a key answers 400', async () => {
    await expectError(await call('/get'), 400, 'BAD_KEY');
    await expectError(await call('/get?key='), 400, 'BAD_KEY');
  });

  it('DELETE /delete?key= and DELETE /delete/{key} answer 200 and delete', async () => {
    await put('d1', 'x');
    await put('d/2', 'y');
    expect((await call('/delete?key=d1', { method: 'DELETE' })).status).toBe(200);
    expect((await call('/delete/d/2', { method: 'DELETE' })).status).toBe(200);
    await expectError(await call('/v1/kv/d1'), 404, 'NOT_FOUND');
    await expectError(await call('/v1/kv/d/2'), 404, 'NOT_FOUND');
    // Like the store these routes come from: 200 whether or not the key was there.
    expect((await call('/delete?key=d1', { method: 'DELETE' })).status).toBe(200);
    await expectError(await call('/delete', { method: 'DELETE' }), 400, 'BAD_KEY');
  });

  it('POST /set/{key}/{value} stores a value readable through /v1/kv and /get', async () => {
    const response = await call('/set/s%2F1/hello%20world', { method: 'POST' });
    expect(response.status, await response.text()).toBe(200);
    expect((await getBytes('/v1/kv/s%2F1')).toString()).toBe('hello world');
    expect(await (await call('/get?key=s/1')).json()).toBe('hello world');

    await call('/set/nested/key/value', { method: 'POST' });
    expect(await (await call('/get/nested/key')).json()).toBe('value');

    await expectError(await call('/set/onlykey', { method: 'POST' }), 400, 'BAD_KEY');
  });
});

describe('errors and robustness', () => {
  it('answers 404 ROUTE_NOT_FOUND to an unknown route', async () => {
    await expectError(await call('/nope'), 404, 'ROUTE_NOT_FOUND');
    await expectError(await call('/v2/kv/a'), 404, 'ROUTE_NOT_FOUND');
    await expectError(await call('/v1/kvx'), 404, 'ROUTE_NOT_FOUND');
  });

  it('answers 405 METHOD_NOT_ALLOWED to a wrong method on a known route', async () => {
    await expectError(
      await call('/v1/kv/a', { method: 'PATCH', body: 'x' }),
      405,
      'METHOD_NOT_ALLOWED',
    );
    await expectError(
      await call('/v1/kv/a', { method: 'POST', body: 'x' }),
      405,
      'METHOD_NOT_ALLOWED',
    );
    await expectError(await call('/v1/kv', { method: 'DELETE' }), 405, 'METHOD_NOT_ALLOWED');
    await expectError(await call('/healthz', { method: 'POST' }), 405, 'METHOD_NOT_ALLOWED');
    await expectError(await call('/put', { method: 'GET' }), 405, 'METHOD_NOT_ALLOWED');
  });

  it("echoes the client's X-Request-Id, and makes one up when none (or a bad one) is sent", async () => {
    const mine = await call('/v1/kv/absent-key', { headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-42.a:b');
    await expectError(mine, 404, 'NOT_FOUND');

    const ok = await call('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');

    const none = await call('/healthz');
    const made = none.headers.get('x-request-id');
    expect(made).toMatch(/^\S+$/);
    const other = await call('/healthz');
    expect(other.headers.get('x-request-id')).not.toBe(made);

    const bad = await call('/healthz', { headers: { 'x-request-id': 'has spaces <script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/);
  });

  it('counts an upload the client abandons as a client error, not a server error', async () => {
    const series = { method: 'PUT', route: '/v1/kv/{*key}', status: '400' };
    const { samples } = await fetchMetrics(node.url);
    const before = findSamples(samples, 'shoal_http_requests_total', series)[0]?.value ?? 0;
    await rawRequest(
      node.host,
      node.httpPort,
      'PUT /v1/kv/abandoned HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc',
      200,
    );
    await waitUntil('the abandoned upload to be counted', async () => {
      const now = await fetchMetrics(node.url);
      return (
        (findSamples(now.samples, 'shoal_http_requests_total', series)[0]?.value ?? 0) > before
      );
    });
    const after = await fetchMetrics(node.url);
    expect(findSamples(after.samples, 'shoal_http_requests_total', { status: '500' })).toEqual([]);
    await expectError(await call('/v1/kv/abandoned'), 404, 'NOT_FOUND');
  });

  it('survives a barrage of malformed requests and keeps serving', async () => {
    const { host, httpPort } = node;
    const garbage: (Buffer | string)[] = [
      'GARBAGE\r\n\r\n',
      '\x00\x01\x02\x03\xff\xfe\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ${'a'.repeat(100_000)}\r\n\r\n`,
      `GET /${'p'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      Buffer.concat([
        Buffer.from('GET /v1/kv/'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
      'GET /v1/kv/%ED%A0%80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /get?key=%FF%FE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n',
      'PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort',
      'PUT /put HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{"key":{}',
      'PUT /v1/kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
      'GET /v1/kv?limit=1&limit=2&cursor=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /v1/kv/a HTTP/1.1\r\nHost: x\r\nContent-Type: \x01\r\n\r\n',
      'PUT /v1/kv/ct HTTP/1.1\r\nHost: x\r\nContent-Type: t\xe9xt\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
      'GET /v1/kv/a HTTP/1.1\r\n',
    ];
    const answers = await Promise.all(
      garbage.map((bytes) => rawRequest(host, httpPort, bytes, 1_000)),
    );
    for (const [i, answer] of answers.entries()) {
      // Either no answer at all, or an HTTP error; never a server error, never a stack trace.
      if (answer !== '') expect(answer, `request ${i}`).toMatch(/^HTTP\/1\.1 [1-4]\d\d /);
      expect(answer).not.toMatch(/\n\s+at /);
    }

    const health = await call('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    await put('after', 'still serving');
    expect((await getBytes('/v1/kv/after')).toString()).toBe('still serving');
    expect(node.process.exitCode).toBeNull();
  });
});
