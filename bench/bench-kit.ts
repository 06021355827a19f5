// What the HTTP benchmarks share: the load they all apply (32 connections, 10,000 keys, 100-byte
// values), running wrk and reading its report, and starting and stopping the servers under test.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/bench/bench-kit.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CONNECTIONS = 32;
/** Keys are bench-1 .. bench-KEYS, as bench/wrk/*.lua expect. */
export const KEYS = 10_000;
export const VALUE = Buffer.alloc(100, 'v');

export interface Result {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface WrkReport extends Result {
  requests: number;
  /** Responses with a status other than 2xx or 3xx. */
  non2xx: number;
  /** Connect, read, write and timeout errors, summed. */
  socketErrors: number;
  /**
   * The latency distribution as 1,000 quantiles in microseconds (0.1 %, 0.2 %, ... 100 %), when
   * the script printed them (bench/wrk/quantiles.lua); empty otherwise.
   */
  quantilesUs: number[];
}

export function requireWrk(): void {
  const check = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (check.error) {
    throw new Error('wrk is not installed (scripts/install-bench-tools.sh installs it)');
  }
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) throw new Error(`cannot parse latency "${text}"`);
  const n = Number(match[1]);
  return match[2] === 'us' ? n / 1000 : match[2] === 's' ? n * 1000 : n;
}

export function parseWrk(out: string): WrkReport {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const requests = /(\d+) requests in /.exec(out)?.[1];
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1];
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1];
  if (!rps || !requests || !p50 || !p99) throw new Error(`cannot parse wrk output:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const quantilesUs = [...out.matchAll(/^quantile (\d+)$/gm)].map((m) => Number(m[1]));
  return {
    rps: Number(rps),
    requests: Number(requests),
    p50Ms: toMs(p50),
    p99Ms: toMs(p99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    quantilesUs,
  };
}

/** wrk's arguments for one closed-loop run of a Lua script against a URL, latency included. */
export function wrkArgs(run: {
  threads: number;
  connections: number;
  durationS: number;
  script: string;
  url: string;
}): string[] {
  return [
    '-t',
    String(run.threads),
    '-c',
    String(run.connections),
    '-d',
    `${run.durationS}s`,
    '--latency',
    '-s',
    run.script,
    run.url,
  ];
}

/**
 * Runs wrk to completion and returns its standard output. `onSpawn` hands the process to the
 * caller, so that an interrupted benchmark can stop it.
 */
export function runWrk(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolveRun(stdout);
      else reject(new Error(`wrk ${args.join(' ')} failed (${code}): ${stderr}${stdout}`));
    });
  });
}

export function best<T extends Result>(results: T[]): T {
  return results.reduce((a, b) => (b.rps > a.rps ? b : a));
}

/** Polls `url` until `accept` likes the response (by default: any status below 500). */
export async function waitFor(
  url: string,
  accept: (res: Response) => Promise<boolean> | boolean = (res) => res.status < 500,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (await accept(res)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then SIGKILL when the process has not exited after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
