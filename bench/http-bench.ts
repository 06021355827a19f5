// Single-node HTTP benchmark: wrk (32 connections, 10,000 keys, 100-byte values) against a shoal
// node (durable LMDB writes) and, in the same run, the minimal Koa + Map server of
// koa-map-server.ts. Prints req/s, p50 and p99 for GET and PUT and shoal's ratio to the baseline.
//
// Usage: npm run bench            (builds, then runs; needs `wrk` on PATH)
//        BENCH_DURATION_S=20 BENCH_ROUNDS=3 npm run bench
//        SHOAL_PROFILE=1 npm run bench   (writes a --cpu-prof profile of the shoal node to bench/results)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONNECTIONS = 32;
const KEYS = 10_000;
const VALUE = Buffer.alloc(100, 'v');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WRK_THREADS = 1;

interface Result {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

async function preload(base: string): Promise<void> {
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next <= KEYS) {
      const key = next++;
      const res = await fetch(`${base}/v1/kv/bench-${key}`, { method: 'PUT', body: VALUE });
      if (!res.ok) throw new Error(`preload failed: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) throw new Error(`cannot parse latency "${text}"`);
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
}

function wrk(base: string, script: string): Result {
  const run = spawnSync(
    'wrk',
    [
      '-t',
      String(WRK_THREADS),
      '-c',
      String(CONNECTIONS),
      '-d',
      `${DURATION_S}s`,
      '--latency',
      '-s',
      join(ROOT, 'bench/wrk', script),
      base,
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr || run.error?.message}`);
  const out = run.stdout;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1];
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (errors !== undefined) throw new Error(`wrk saw ${errors} error responses:\n${out}`);
  if (!rps || !p50 || !p99) throw new Error(`cannot parse wrk output:\n${out}`);
  return { rps: Number(rps), p50Ms: toMs(p50), p99Ms: toMs(p99) };
}

function best(results: Result[]): Result {
  return results.reduce((a, b) => (b.rps > a.rps ? b : a));
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const check = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (check.error) throw new Error('wrk is not installed (Debian: apt-get install wrk)');

  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
  const resultsDir = join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const [shoalPort, koaPort] = [await freePort(), await freePort()];
  const profile =
    process.env.SHOAL_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [];

  const shoal = spawn(process.execPath, [...profile, join(ROOT, 'dist/src/main.js'), 'serve'], {
    env: {
      ...process.env,
      SHOAL_DATA_DIR: dataDir,
      SHOAL_HTTP_PORT: String(shoalPort),
      SHOAL_BIND_ADDR: '127.0.0.1',
      SHOAL_NODE_NAME: 'bench',
      SHOAL_LOG_LEVEL: 'warn',
    },
    stdio: 'inherit',
  });
  const koa = spawn(
    process.execPath,
    [join(ROOT, 'dist/bench/koa-map-server.js'), String(koaPort)],
    { stdio: 'inherit' },
  );
  const targets = { shoal: `http://127.0.0.1:${shoalPort}`, koa: `http://127.0.0.1:${koaPort}` };

  try {
    await waitFor(`${targets.shoal}/readyz`);
    await waitFor(`${targets.koa}/v1/kv/none`);
    await preload(targets.shoal);
    await preload(targets.koa);

    const runs: Record<string, Result[]> = {
      'shoal GET': [],
      'koa GET': [],
      'shoal PUT': [],
      'koa PUT': [],
    };
    // Interleave the targets so drift on the machine hits both alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const op of ['GET', 'PUT'] as const) {
        const script = op === 'GET' ? 'get.lua' : 'put.lua';
        runs[`koa ${op}`]?.push(wrk(targets.koa, script));
        runs[`shoal ${op}`]?.push(wrk(targets.shoal, script));
      }
    }

    console.log(
      `\n${CONNECTIONS} connections, ${KEYS} keys, ${VALUE.length}-byte values, ${ROUNDS} x ${DURATION_S}s per target (best round)\n`,
    );
    console.log('target        req/s       p50 ms   p99 ms');
    const summary: Record<string, Result> = {};
    for (const [name, results] of Object.entries(runs)) {
      const r = best(results);
      summary[name] = r;
      console.log(
        `${name.padEnd(12)}${r.rps.toFixed(0).padStart(8)}   ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}`,
      );
    }
    for (const op of ['GET', 'PUT']) {
      const s = summary[`shoal ${op}`];
      const k = summary[`koa ${op}`];
      if (!s || !k) continue;
      console.log(
        `${op}: throughput ${(s.rps / k.rps).toFixed(2)}x the Koa+Map server, p99 ${(s.p99Ms / k.p99Ms).toFixed(2)}x`,
      );
    }
  } finally {
    await Promise.all([stop(shoal), stop(koa)]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
