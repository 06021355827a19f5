// The probes and /metrics of one real node: what Kubernetes and Prometheus read.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShoal, type ShoalProcess } from '../support/shoal-process.js';
import { fetchMetrics, findSamples, gaugeValue, type Sample } from './helpers.js';

let node: ShoalProcess;

beforeAll(async () => {
  node = await startShoal();
});

afterAll(async () => {
  await node?.stop();
});

function call(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${node.url}${path}`, init);
}

async function put(key: string, value: string): Promise<void> {
  const response = await call(`/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value });
  expect(response.status, await response.text()).toBe(200);
}

async function remove(key: string): Promise<void> {
  const response = await call(`/v1/kv/${encodeURIComponent(key)}`, { method: 'DELETE' });
  expect(response.status, await response.text()).toBe(200);
}

/** Pipes `text` into `promtool check metrics`; fails clearly when promtool is not installed. */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(
              'promtool is not installed: it is needed to check /metrics ' +
                '(Debian package "prometheus"; scripts/install-test-tools.sh installs it)',
            )
          : err,
      );
    });
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}

async function allLiveKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = (await (await call(`/v1/kv?limit=1000${query}`)).json()) as {
      keys: string[];
      next_cursor: string | null;
    };
    keys.push(...page.keys);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return keys;
}

describe('probes', () => {
  it('GET /healthz answers 200 {"status":"ok"}', async () => {
    const response = await call('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 on a node that serves reads and writes', async () => {
    const response = await call('/readyz');
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});

describe('/metrics', () => {
  it('serves the Prometheus text format with the process_* and nodejs_* defaults', async () => {
    const response = await call('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts requests by route pattern, never by the raw key or path', async () => {
    const marker = 'zq7x-distinctive-key';
    const before = findSamples(
      (await fetchMetrics(node.url)).samples,
      'shoal_http_requests_total',
      {
        method: 'PUT',
        status: '200',
      },
    );
    await put(`${marker}/one`, 'a');
    await put(`${marker}/two`, 'b');
    await put(`other/${marker}`, 'c');
    await call(`/no-such-route-${marker}`).then((r) => r.arrayBuffer());
    await call(`/v1/kv/absent-${marker}`).then((r) => r.arrayBuffer());

    const { text, samples } = await fetchMetrics(node.url);
    expect(text).not.toContain(marker);

    // Three writes to three keys: one series (one route) that grew by three.
    const puts = findSamples(samples, 'shoal_http_requests_total', {
      method: 'PUT',
      status: '200',
    });
    const kvPuts = puts.filter((s) => s.labels.route?.startsWith('/v1/kv'));
    expect(kvPuts).toHaveLength(1);
    const kvPut = kvPuts[0] as Sample;
    const previous = before.find((s) => s.labels.route === kvPut.labels.route)?.value ?? 0;
    expect(kvPut.value - previous).toBe(3);

    // Routes without parameters are labelled with their path.
    expect(
      findSamples(samples, 'shoal_http_requests_total', { method: 'GET', route: '/healthz' }),
    ).not.toHaveLength(0);
    for (const sample of findSamples(samples, 'shoal_http_requests_total')) {
      expect(Object.keys(sample.labels).sort()).toEqual(['method', 'route', 'status']);
    }
    // The 404 of a missing key has the same route as the successful reads of that route.
    const notFound = findSamples(samples, 'shoal_http_requests_total', {
      method: 'GET',
      status: '404',
    });
    expect(notFound.map((s) => s.labels.route)).toContain(kvPut.labels.route);
  });

  it('has a shoal_http_request_duration_seconds histogram by method and route', async () => {
    await call('/healthz').then((r) => r.arrayBuffer());
    const { text, samples } = await fetchMetrics(node.url);
    expect(text).toMatch(/^# TYPE shoal_http_request_duration_seconds histogram$/m);
    const labels = { method: 'GET', route: '/healthz' };
    const buckets = findSamples(samples, 'shoal_http_request_duration_seconds_bucket', labels);
    expect(buckets.length).toBeGreaterThan(1);
    const inf = buckets.find((s) => s.labels.le === '+Inf');
    const count = findSamples(samples, 'shoal_http_request_duration_seconds_count', labels);
    const sum = findSamples(samples, 'shoal_http_request_duration_seconds_sum', labels);
    expect(count).toHaveLength(1);
    expect(sum).toHaveLength(1);
    expect(inf?.value).toBe(count[0]?.value);
    expect(count[0]?.value).toBeGreaterThanOrEqual(1);
    // Buckets are cumulative.
    const values = buckets.map((s) => s.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it('reports shoal_store_keys equal to the number of live keys', async () => {
    const start = await gaugeValue(node.url, 'shoal_store_keys');
    expect(start).toBe((await allLiveKeys()).length);

    await put('count/a', '1');
    await put('count/b', '2');
    await put('count/c', '3');
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe(start + 3);

    await put('count/a', 'overwritten');
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe(start + 3);

    await remove('count/b');
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe(start + 2);
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe((await allLiveKeys()).length);

    // Writing a deleted key again makes it live again.
    await put('count/b', 'back');
    expect(await gaugeValue(node.url, 'shoal_store_keys')).toBe(start + 3);
  });

  it('passes `promtool check metrics`', async () => {
    // Some traffic first, so every labelled family has series.
    await put('promtool', 'x');
    await call('/v1/kv/promtool-absent').then((r) => r.arrayBuffer());
    const { text } = await fetchMetrics(node.url);
    const result = await promtoolCheck(text);
    expect(result.code, `promtool check metrics said:\n${result.output}`).toBe(0);
  });
});
