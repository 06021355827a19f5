// Single-node HTTP benchmark: wrk (32 connections, 10,000 keys, 100-byte values) against a shoal
// node (durable LMDB writes) and, in the same run, the minimal Koa + Map server of
// koa-map-server.ts. Prints req/s, p50 and p99 for GET and PUT and shoal's ratio to the baseline.
//
// Usage: npm run bench            (builds, then runs; needs `wrk` on PATH)
//        BENCH_DURATION_S=20 BENCH_ROUNDS=3 npm run bench
//        SHOAL_PROFILE=1 npm run bench   (writes a --cpu-prof profile of the shoal node to bench/results)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  best,
  CONNECTIONS,
  KEYS,
  parseWrk,
  requireWrk,
  ROOT,
  runWrk,
  stop,
  VALUE,
  waitFor,
  wrkArgs,
  type Result,
} from './bench-kit.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WRK_THREADS = 1;

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

async function wrk(base: string, script: string): Promise<Result> {
  const out = await runWrk(
    wrkArgs({
      threads: WRK_THREADS,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      script: join(ROOT, 'bench/wrk', script),
      url: base,
    }),
  );
  const report = parseWrk(out);
  if (report.non2xx > 0) throw new Error(`wrk saw ${report.non2xx} error responses:\n${out}`);
  return report;
}

async function main(): Promise<void> {
  requireWrk();

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
        runs[`koa ${op}`]?.push(await wrk(targets.koa, script));
        runs[`shoal ${op}`]?.push(await wrk(targets.shoal, script));
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
