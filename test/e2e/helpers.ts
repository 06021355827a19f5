// Small helpers shared by the end-to-end tests: the error shape every failure must have,
// bounded polling, raw TCP requests, and reading the Prometheus text format.

import { connect } from 'node:net';
import { expect } from 'vitest';
import { sleep } from '../support/shoal-process.js';

export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * Asserts the response is `status` with exactly `{"error":{"code","message"}}`, the given code,
 * a non-empty message and no stack trace. Returns the parsed body.
 */
export async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<ErrorBody> {
  const text = await response.text();
  expect(response.status, `status of ${response.url}: ${text}`).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s+at |\.js:\d+|\.ts:\d+/);
  return body;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined) return result;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (last === undefined ? '' : `; last error: ${String(last)}`),
      );
    }
    await sleep(intervalMs);
  }
}

/** Polls `check` every 200 ms until it holds, for up to 30 s (a cluster's pace, not a node's). */
export function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<true> {
  return waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, 200);
}

/**
 * Writes `bytes` on a fresh TCP connection and returns what the server sent back before it
 * closed the connection (or before `timeoutMs`, when the connection is closed from this side).
 */
export function rawRequest(
  host: string,
  port: number,
  bytes: Buffer | string,
  timeoutMs = 2_000,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const received: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(received).toString('latin1'));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.write(bytes);
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = (pair[2] ?? '').replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      );
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples named `name` whose labels include every pair of `labels`. */
export function findSamples(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

export async function fetchMetrics(url: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parseMetrics(text) };
}

/** The value of the one sample named `name` with these labels, e.g. an unlabelled gauge. */
export async function sampleValue(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const { samples } = await fetchMetrics(url);
  const found = findSamples(samples, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)} in /metrics`).toHaveLength(1);
  return (found[0] as Sample).value;
}

/** The single value of an unlabelled gauge such as shoal_store_keys. */
export function gaugeValue(url: string, name: string): Promise<number> {
  return sampleValue(url, name);
}

/** GETs a JSON document: throws unless the node answers 200 with JSON within `timeoutMs`. */
export async function getJson<T>(url: string, timeoutMs = 10_000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text}`);
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) throw new Error(`GET ${url}: content type ${type}`);
  return JSON.parse(text) as T;
}

export interface LocalPartition {
  id: number;
  keys: number;
  digest: string;
}

export interface LocalPartitions {
  node: string;
  partitions: LocalPartition[];
}

/** What a node holds per partition: `GET /v1/cluster/partitions?local=true`. */
export function localPartitions(nodeUrl: string, timeoutMs?: number): Promise<LocalPartitions> {
  return getJson<LocalPartitions>(`${nodeUrl}/v1/cluster/partitions?local=true`, timeoutMs);
}

/** Records a node holds (live, expired or deleted), from its local partition summaries. */
export async function heldRecords(nodeUrl: string): Promise<number> {
  const { partitions } = await localPartitions(nodeUrl);
  return partitions.reduce((sum, p) => sum + p.keys, 0);
}

export interface MemberState {
  name: string;
  state: string;
}

/** The members a node knows, with their states: `GET /v1/cluster/members`. */
export async function memberStates(nodeUrl: string, timeoutMs?: number): Promise<MemberState[]> {
  const url = `${nodeUrl}/v1/cluster/members`;
  return (await getJson<{ members: MemberState[] }>(url, timeoutMs)).members;
}
