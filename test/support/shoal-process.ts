// Real `shoal` processes for end-to-end tests: `startShoal` runs `shoal serve` (the built CLI,
// dist/src/main.js) on free ports with its own temp data dir and waits until /readyz answers 200;
// `runShoal` runs any CLI command to completion. Every process started here is killed, and every
// temp dir made here removed, after the test file that started it (and when the test worker exits).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { freePort } from './free-port.js';

export const READY_TIMEOUT_MS = 15_000;
export const STOP_TIMEOUT_MS = 10_000;
export const RUN_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 50;
const PROBE_TIMEOUT_MS = 1_000;
/** Fresh ports are picked again when a port was taken between picking and binding it. */
const START_ATTEMPTS_MAX = 3;

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (no package.json above)');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
/** The built CLI; tests run what `shoal` users run. */
export const SHOAL_MAIN = join(REPO_ROOT, 'dist', 'src', 'main.js');

function requireBuild(): void {
  if (!existsSync(SHOAL_MAIN)) {
    throw new Error(`${SHOAL_MAIN} is missing: build first with \`npx tsc -p tsconfig.json\``);
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartShoalOptions {
  /** Extra variables; they win over the ones set here. `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Flags after `shoal serve`. */
  args?: string[];
  /** Defaults to a fresh temp dir, removed after the test file. */
  dataDir?: string;
  /** Defaults to a free port. */
  httpPort?: number;
  /** Defaults to a free port (TCP and UDP). */
  gossipPort?: number;
  /** SHOAL_BIND_ADDR and the address the tests connect to; default 127.0.0.1. */
  host?: string;
  /** SHOAL_NODE_NAME; default a unique name. */
  nodeName?: string;
  readyTimeoutMs?: number;
  /**
   * What to wait for before returning: 'ready' (GET /readyz answers 200, the default) or 'live'
   * (GET /healthz answers 200), for a node expected to report itself not ready.
   */
  waitFor?: 'ready' | 'live';
}

export interface ShoalProcess {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly httpPort: number;
  readonly gossipPort: number;
  readonly nodeName: string;
  readonly dataDir: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** stdout and stderr so far, interleaved in arrival order. */
  output(): string;
  /** stderr so far. */
  stderr(): string;
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited; rejects if it has not within `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<ExitStatus>;
  /** SIGTERM, then waits for the exit; SIGKILL and an error if it takes over `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Processes started by the test file that loaded this module. */
const live = new Set<ChildProcess>();
const tempDirs: string[] = [];
let nodeCounter = 0;

/**
 * Every process started in this worker, across test files: killed if the worker exits while
 * they still run. One set and one exit listener per worker, however often this module loads.
 */
const WORKER_CHILDREN = Symbol.for('shoal.test.children');
const workerChildren = ((globalThis as Record<symbol, unknown>)[WORKER_CHILDREN] ??= (() => {
  const children = new Set<ChildProcess>();
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
  });
  return children;
})()) as Set<ChildProcess>;

function track(child: ChildProcess): void {
  live.add(child);
  workerChildren.add(child);
  child.once('exit', () => {
    live.delete(child);
    workerChildren.delete(child);
  });
}

function killLeftovers(): void {
  for (const child of live) child.kill('SIGKILL');
}

afterAll(async () => {
  const exits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      }),
  );
  killLeftovers();
  await Promise.race([Promise.all(exits), sleep(STOP_TIMEOUT_MS)]);
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh empty directory, removed after the test file. */
export function makeTempDir(prefix = 'shoal-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** The parent's environment without any SHOAL_ variable, so tests see only what they set. */
function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('SHOAL_')) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export function httpUrl(host: string, port: number): string {
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * A complete, valid environment for `shoal serve` (free ports, a temp data dir, warn logs),
 * with `overrides` applied last. For runs of `serve` that are expected to fail.
 */
export async function serveEnv(
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string | undefined>> {
  return {
    SHOAL_NODE_NAME: `node-${process.pid}-${++nodeCounter}`,
    SHOAL_BIND_ADDR: '127.0.0.1',
    SHOAL_HTTP_PORT: String(await freePort('127.0.0.1')),
    SHOAL_GOSSIP_PORT: String(await freePort('127.0.0.1', { udp: true })),
    SHOAL_DATA_DIR: makeTempDir(),
    SHOAL_LOG_LEVEL: 'warn',
    ...overrides,
  };
}

function waitForChildExit(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function isReady(url: string, probe: 'readyz' | 'healthz' = 'readyz'): Promise<boolean> {
  try {
    const response = await fetch(`${url}/${probe}`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The name a node gives for itself in GET /v1/cluster/members, when it answers that route. */
async function selfName(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${url}/v1/cluster/members`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const body = (await response.json()) as { self?: unknown };
    return response.status === 200 && typeof body.self === 'string' ? body.self : undefined;
  } catch {
    return undefined;
  }
}

/** Starts `shoal serve` and resolves once GET /readyz answers 200. */
export async function startShoal(options: StartShoalOptions = {}): Promise<ShoalProcess> {
  requireBuild();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const portsPicked = options.httpPort === undefined && options.gossipPort === undefined;
      const retry = err instanceof PortTakenError && portsPicked && attempt < START_ATTEMPTS_MAX;
      if (!retry) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(options: StartShoalOptions): Promise<ShoalProcess> {
  const host = options.host ?? '127.0.0.1';
  const httpPort = options.httpPort ?? (await freePort(host));
  const gossipPort = options.gossipPort ?? (await freePort(host, { udp: true }));
  const dataDir = options.dataDir ?? makeTempDir();
  const nodeName = options.nodeName ?? `node-${process.pid}-${++nodeCounter}`;
  const url = httpUrl(host, httpPort);
  const env = baseEnv({
    SHOAL_NODE_NAME: nodeName,
    SHOAL_BIND_ADDR: host,
    SHOAL_HTTP_PORT: String(httpPort),
    SHOAL_GOSSIP_PORT: String(gossipPort),
    SHOAL_DATA_DIR: dataDir,
    SHOAL_LOG_LEVEL: 'warn',
    ...options.env,
  });

  const child = spawn(process.execPath, [SHOAL_MAIN, 'serve', ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const exited = waitForChildExit(child);
  const chunks: string[] = [];
  const stderrChunks: string[] = [];
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => chunks.push(text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    chunks.push(text);
    stderrChunks.push(text);
  });
  const output = (): string => chunks.join('');
  let exitStatus: ExitStatus | undefined;
  void exited.then((status) => {
    exitStatus = status;
  });

  const describeFailure = (what: string): string =>
    `shoal serve (${nodeName}, ${url}, data ${dataDir}) ${what}\n--- output ---\n${output()}`;

  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  const probe = options.waitFor === 'live' ? 'healthz' : 'readyz';
  for (;;) {
    if (spawnError !== undefined) throw new Error(describeFailure(`failed: ${spawnError.message}`));
    if (exitStatus !== undefined) {
      // Let the last output arrive before reporting it.
      await sleep(50);
      const message = describeFailure(
        `exited before it was ready (code ${exitStatus.code}, signal ${exitStatus.signal})`,
      );
      throw output().includes('EADDRINUSE') ? new PortTakenError(message) : new Error(message);
    }
    if (await isReady(url, probe)) {
      // The port was free when picked; make sure the node answering is this one.
      const self = await selfName(url);
      if (self === undefined || self === nodeName) break;
      child.kill('SIGKILL');
      throw new PortTakenError(describeFailure(`found ${url} already taken by node "${self}"`));
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(describeFailure(`did not answer GET /${probe} with 200 in time`));
    }
    await sleep(READY_POLL_MS);
  }

  const waitForExit = (timeoutMs = STOP_TIMEOUT_MS): Promise<ExitStatus> =>
    withTimeout(exited, timeoutMs, () => describeFailure(`did not exit within ${timeoutMs} ms`));

  return {
    url,
    host,
    httpPort,
    gossipPort,
    nodeName,
    dataDir,
    pid: child.pid ?? -1,
    process: child,
    output,
    stderr: () => stderrChunks.join(''),
    signal: (sig) => {
      child.kill(sig);
    },
    waitForExit,
    stop: async (timeoutMs = STOP_TIMEOUT_MS) => {
      if (exitStatus === undefined) child.kill('SIGTERM');
      try {
        return await waitForExit(timeoutMs);
      } catch (err) {
        child.kill('SIGKILL');
        throw err;
      }
    },
  };
}

/** How a run ended and what it printed, for assertion messages. */
export function runSummary(result: RunResult): string {
  return (
    `exit code ${result.code}, signal ${result.signal}\n--- stderr ---\n${result.stderr}` +
    `\n--- stdout ---\n${result.stdout.toString('utf8').slice(0, 2_000)}`
  );
}

/**
 * Runs `shoal <args>` to completion. `stdin` is written then closed (closed at once when not
 * given). Rejects when the command is still running after `timeoutMs`.
 */
export async function runShoal(
  args: string[],
  env: Record<string, string | undefined> = {},
  stdin?: Buffer | string,
  timeoutMs = RUN_TIMEOUT_MS,
): Promise<RunResult> {
  requireBuild();
  const child = spawn(process.execPath, [SHOAL_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: baseEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A command that exits without reading all of stdin closes the pipe; that is not an error.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(stdin);

  const finished = new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', reject);
    // 'close' comes after the output streams have ended, so nothing is missed.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  try {
    const status = await withTimeout(
      finished,
      timeoutMs,
      () =>
        `shoal ${args.join(' ')} did not exit within ${timeoutMs} ms\n--- output ---\n` +
        Buffer.concat(stdout).toString() +
        Buffer.concat(stderr).toString(),
    );
    return { ...status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString() };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
