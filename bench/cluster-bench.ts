// Cluster benchmark: a 3-node shoal cluster against a 3-member etcd 3.4 cluster, both on this
// machine, under the same wrk load: 32 connections spread over the three nodes (one wrk process
// per node, 11 + 11 + 10 connections), 10,000 keys, 100-byte values, all keys preloaded. Both
// systems run with quorum writes and quorum reads: shoal with its defaults (N = 3, W = R = 2),
// etcd through its JSON gateway (a put commits through raft; a range is linearizable, the
// default). After a warm-up, PUT and GET rounds alternate between the systems; prints req/s, p50,
// p99 and CPU time per request for PUT and GET of each, and shoal/etcd ratios.
//
// Usage: npm run bench:cluster      (builds, then runs; needs wrk and etcd: run
//                                    scripts/install-bench-tools.sh once)
//        BENCH_DURATION_S=20 BENCH_ROUNDS=5 BENCH_WARMUP_S=10 npm run bench:cluster
//        npm run bench:cluster -- --cpu-prof   (profiles the shoal nodes and prints where the
//                                               first node's CPU time went during the runs)
//
// Nodes: shoal on 127.0.0.61-63 (HTTP 18080, gossip 17946), etcd on 127.0.0.71-73 (client 2379,
// peer 2380), each member with a fresh data directory under the OS temp dir, removed at the end.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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
  type WrkReport,
} from './bench-kit.js';

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
// Both systems get faster over their first half-minute or so of writes (shoal's and etcd's
// storage files grow to their working size, V8 optimises the hot paths): load that is not
// measured first, so that the rounds compare steady states.
const WARMUP_S = Number(process.env['BENCH_WARMUP_S'] ?? 10);
const CPU_PROF = process.argv.includes('--cpu-prof');
const TARGETS = { PUT: 2.5, GET: 2 } as const;
const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

const SHOAL_IPS = ['127.0.0.61', '127.0.0.62', '127.0.0.63'];
/** Nodes per cluster, for both systems. */
const NODES = SHOAL_IPS.length;
/** The connections split over the nodes of a cluster as evenly as they go (32: 11 + 11 + 10). */
const SPLIT = Array.from(
  { length: NODES },
  (_, node) => Math.floor(CONNECTIONS / NODES) + (node < CONNECTIONS % NODES ? 1 : 0),
);
// Not shoal's defaults (8080, 7946): a node started by hand with SHOAL_BIND_ADDR=0.0.0.0 holds
// those on every loopback address, and would make this benchmark fail to start.
const SHOAL_HTTP_PORT = 18080;
const SHOAL_GOSSIP_PORT = 17946;
const ETCD_IPS = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];
const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

type System = 'shoal' | 'etcd';
type Op = 'PUT' | 'GET';

interface Member {
  name: string;
  child: ChildProcess;
}

/** One system's run of one operation: the three wrk processes' reports, combined. */
interface Combined {
  rps: number;
  requests: number;
  /** Pooled over the three processes' distributions, each request weighing the same. */
  p50Ms: number;
  p99Ms: number;
  /** The highest p99 any one node's wrk saw. */
  worstP99Ms: number;
  errors: number;
  /**
   * CPU time the system's three members used per request (user + system, all threads), or NaN
   * where /proc is missing. Unlike req/s, hardly affected by other work on a shared machine.
   */
  cpuUsPerReq: number;
}

const members: Member[] = [];
const wrks = new Set<ChildProcess>();
let workDir = '';
let stopping = false;
let cleanedUp: Promise<void> | undefined;

// Rejects when any member exits before the benchmark stops it, so that a wait or a wrk run
// raced against it fails at once, with the member's log, instead of timing out.
let reportDeath: (err: Error) => void = () => {};
const died = new Promise<never>((_, reject) => (reportDeath = reject));
died.catch(() => {});

function guard<T>(work: Promise<T>): Promise<T> {
  return Promise.race([work, died]);
}

function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The environment without variables of `prefix`, so the caller's shell cannot change the setup. */
function envWithout(prefix: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith(prefix)));
}

function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): void {
  const logFile = join(workDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.once('error', (err) => reportDeath(new Error(`${name} could not start: ${err.message}`)));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    reportDeath(
      new Error(`${name} exited (${code ?? signal}); its log ends:\n${logTail(logFile)}`),
    );
  });
  members.push({ name, child });
}

function startShoal(profDir: string | undefined): void {
  const seeds = SHOAL_IPS.map((ip) => `${ip}:${SHOAL_GOSSIP_PORT}`).join(',');
  SHOAL_IPS.forEach((ip, i) => {
    const name = `shoal-${i + 1}`;
    const dataDir = join(workDir, name);
    mkdirSync(dataDir);
    const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    launch(name, process.execPath, [...prof, join(ROOT, 'dist/src/main.js'), 'serve'], {
      ...envWithout('SHOAL_'),
      SHOAL_NODE_NAME: name,
      SHOAL_BIND_ADDR: ip,
      SHOAL_HTTP_PORT: String(SHOAL_HTTP_PORT),
      SHOAL_GOSSIP_PORT: String(SHOAL_GOSSIP_PORT),
      SHOAL_DATA_DIR: dataDir,
      SHOAL_JOIN: seeds,
      SHOAL_LOG_LEVEL: 'warn',
    });
  });
}

function startEtcd(): void {
  const cluster = ETCD_IPS.map((ip, i) => `etcd-${i + 1}=http://${ip}:${ETCD_PEER_PORT}`).join(',');
  ETCD_IPS.forEach((ip, i) => {
    const name = `etcd-${i + 1}`;
    const client = `http://${ip}:${ETCD_CLIENT_PORT}`;
    const peer = `http://${ip}:${ETCD_PEER_PORT}`;
    // etcd also reads ETCD_* variables (the Debian service sets some), hence envWithout.
    launch(
      name,
      ETCD_BIN,
      [
        `--name=${name}`,
        `--data-dir=${join(workDir, name)}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=shoal-cluster-bench',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ],
      envWithout('ETCD_'),
    );
  });
}

const shoalUrl = (i: number): string => `http://${SHOAL_IPS[i]}:${SHOAL_HTTP_PORT}`;
const etcdUrl = (i: number): string => `http://${ETCD_IPS[i]}:${ETCD_CLIENT_PORT}`;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function shoalReady(i: number): Promise<void> {
  await waitFor(`${shoalUrl(i)}/readyz`, (res) => res.status === 200, 60_000);
  await waitFor(
    `${shoalUrl(i)}/v1/cluster/members`,
    async (res) => {
      if (!res.ok) return false;
      const body = (await res.json()) as { members: { state: string }[] };
      return body.members.filter((m) => m.state === 'alive').length === SHOAL_IPS.length;
    },
    60_000,
  );
}

async function etcdReady(i: number): Promise<void> {
  await waitFor(
    `${etcdUrl(i)}/health`,
    async (res) => res.ok && ((await res.json()) as { health: string }).health === 'true',
    60_000,
  );
}

/** Writes bench-1 .. bench-KEYS through every node, CONNECTIONS requests in flight. */
async function preload(system: System): Promise<void> {
  let next = 1;
  const put = (k: number): Promise<Response> => {
    const node = k % NODES;
    if (system === 'shoal') {
      return fetch(`${shoalUrl(node)}/v1/kv/bench-${k}`, {
        method: 'PUT',
        body: VALUE,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
    }
    return fetch(`${etcdUrl(node)}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(`bench-${k}`), value: VALUE.toString('base64') }),
      headers: { 'Content-Type': 'application/json' },
    });
  };
  const worker = async (): Promise<void> => {
    while (next <= KEYS) {
      const k = next++;
      const res = await put(k);
      const body = await res.text();
      if (!res.ok) throw new Error(`${system} preload of bench-${k} failed: ${res.status} ${body}`);
    }
  };
  await guard(Promise.all(SPLIT.flatMap((n) => Array.from({ length: n }, worker))));
}

/**
 * How many keys the cluster holds: exactly KEYS when the preload worked and the wrk scripts
 * wrote the keys they were meant to (etcd's keys are base64-encoded in Lua, so this checks that).
 */
async function countKeys(system: System): Promise<number> {
  if (system === 'etcd') {
    const res = await fetch(`${etcdUrl(0)}/v3/kv/range`, {
      method: 'POST',
      // key "\0" with range_end "\0": every key.
      body: JSON.stringify({ key: 'AA==', range_end: 'AA==', count_only: true }),
    });
    const body = (await res.json()) as { count?: string };
    return Number(body.count ?? 0);
  }
  let count = 0;
  let cursor: string | null = '';
  while (cursor !== null) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const res = await fetch(`${shoalUrl(0)}/v1/kv?limit=1000${query}`);
    const body = (await res.json()) as { keys: string[]; next_cursor: string | null };
    count += body.keys.length;
    cursor = body.next_cursor;
  }
  return count;
}

/**
 * A wrk script for one process: the request script, seeded apart from the other processes (else
 * all three would send the same key sequence), then the quantile printer.
 */
function wrkScript(system: System, op: Op, node: number, round: number): string {
  const script = system === 'etcd' ? 'etcd-kv.lua' : op === 'PUT' ? 'put.lua' : 'get.lua';
  const file = join(workDir, `${system}-${op}-${node}.lua`);
  writeFileSync(
    file,
    [
      `math.randomseed(${(round + 1) * 10 + node + 1})`,
      `dofile(${JSON.stringify(join(ROOT, 'bench/wrk', script))})`,
      `dofile(${JSON.stringify(join(ROOT, 'bench/wrk/quantiles.lua'))})`,
      '',
    ].join('\n'),
  );
  return file;
}

/** The latency (ms) below which fraction `q` of all requests of the three processes fell. */
function pooledQuantile(reports: WrkReport[], q: number): number {
  const points = reports.flatMap((r) =>
    r.quantilesUs.map((us) => ({ us, weight: r.requests / r.quantilesUs.length })),
  );
  points.sort((a, b) => a.us - b.us);
  const total = points.reduce((sum, p) => sum + p.weight, 0);
  let seen = 0;
  for (const p of points) {
    seen += p.weight;
    if (seen >= q * total - 1e-9) return p.us / 1000;
  }
  return (points.at(-1)?.us ?? 0) / 1000;
}

const CLOCK_TICKS_PER_S = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() || 100,
);

/** The commit the measured build comes from, and whether src/ differed from it. */
function sourceVersion(): string {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  return git('status', '--porcelain', '--', 'src') ? `${head} + uncommitted changes in src/` : head;
}

/** CPU time (microseconds) the members of `system` have used so far, from /proc/<pid>/stat. */
function cpuUs(system: System): number {
  let ticks = 0;
  for (const m of members.filter((m) => m.name.startsWith(`${system}-`))) {
    try {
      // utime and stime are fields 14 and 15; the command name (field 2) may contain spaces,
      // so count from the parenthesis that closes it.
      const stat = readFileSync(`/proc/${m.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return NaN;
    }
  }
  return (ticks * 1e6) / CLOCK_TICKS_PER_S;
}

async function load(
  system: System,
  op: Op,
  round: number,
  durationS = DURATION_S,
): Promise<Combined> {
  if (stopping) throw new Error('interrupted');
  const cpuBefore = cpuUs(system);
  const runs = SPLIT.map((connections, node) => {
    const args = wrkArgs({
      threads: 1,
      connections,
      durationS,
      script: wrkScript(system, op, node, round),
      url: system === 'shoal' ? shoalUrl(node) : etcdUrl(node),
    });
    if (system === 'etcd') args.push('--', op === 'PUT' ? 'put' : 'get');
    return runWrk(args, (child) => {
      wrks.add(child);
      child.once('exit', () => wrks.delete(child));
    });
  });
  const perNode = (await guard(Promise.all(runs))).map(parseWrk);
  const cpuUsed = cpuUs(system) - cpuBefore;
  if (perNode.some((r) => r.quantilesUs.length !== 1000)) {
    throw new Error('wrk printed no latency quantiles (bench/wrk/quantiles.lua)');
  }
  const requests = perNode.reduce((sum, r) => sum + r.requests, 0);
  return {
    rps: perNode.reduce((sum, r) => sum + r.rps, 0),
    requests,
    p50Ms: pooledQuantile(perNode, 0.5),
    p99Ms: pooledQuantile(perNode, 0.99),
    // From the same quantiles as the pooled p99 (wrk's own 99% line is rounded).
    worstP99Ms: Math.max(...perNode.map((r) => pooledQuantile([r], 0.99))),
    errors: perNode.reduce((sum, r) => sum + r.non2xx + r.socketErrors, 0),
    cpuUsPerReq: cpuUsed / requests,
  };
}

// --- CPU profile summary ----------------------------------------------------------------------

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of the benchmark, in microseconds of the monotonic clock V8's profiler uses too. */
interface Window {
  op: Op;
  startUs: number;
  endUs: number;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? relative(ROOT, new URL(url).pathname) : url;
  return path.replace(/^node_modules\//, '');
}

/** Where a function lives, coarsely: its npm package, its node: module, or its shoal file. */
function home(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return `npm:${pkg}`;
  return shortUrl(url);
}

function table(rows: Map<string, number>, totalUs: number, top: number): string[] {
  return [...rows]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, us]) =>
        `  ${(us / 1000).toFixed(0).padStart(8)} ${((100 * us) / totalUs).toFixed(1).padStart(6)}%  ${name}`,
    );
}

function summarizeProfile(file: string, windows: Window[]): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  // Chrome DevTools' convention: a sample stands for the time until the next sample.
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const inWindow = (at: number, op: Op): boolean =>
    windows.some((w) => w.op === op && at >= w.startUs && at < w.endUs);
  if (!times.some((at) => inWindow(at, 'PUT') || inWindow(at, 'GET'))) {
    console.log(`\n${file}: no samples fall in the load windows (clock mismatch?)`);
    return;
  }
  console.log(`\nCPU profile of shoal-1: ${relative(ROOT, file)}`);
  for (const op of ['PUT', 'GET'] as const) {
    const byFunction = new Map<string, number>();
    const byHome = new Map<string, number>();
    let total = 0;
    let idle = 0;
    profile.samples.forEach((id, i) => {
      const at = times[i] ?? 0;
      if (!inWindow(at, op)) return;
      const us = (times[i + 1] ?? profile.endTime) - at;
      const frame = frames.get(id);
      if (!frame) return;
      total += us;
      if (frame.functionName === '(idle)') idle += us;
      // Keyed by function name and file; anonymous functions also by line, or every callback
      // of a file would merge into one row.
      const name = frame.functionName || `(anonymous):${frame.lineNumber + 1}`;
      const key = frame.url ? `${name}  ${shortUrl(frame.url)}` : name;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
      const where = home(frame.url, frame.functionName);
      byHome.set(where, (byHome.get(where) ?? 0) + us);
    });
    console.log(
      `\nshoal ${op} runs: ${(total / 1e6).toFixed(1)} s sampled on the main thread, ` +
        `${((100 * (total - idle)) / total).toFixed(0)}% busy. Top 15 by self time:`,
    );
    console.log('   self ms  share   function  file');
    for (const line of table(byFunction, total, 15)) console.log(line);
    console.log('  by package / file:');
    for (const line of table(byHome, total, 12)) console.log(line);
  }
}

function profileOf(dir: string, pid: number | undefined): string | undefined {
  if (!existsSync(dir) || pid === undefined) return undefined;
  const name = readdirSync(dir).find((f) => f.includes(`.${pid}.`) && f.endsWith('.cpuprofile'));
  return name ? join(dir, name) : undefined;
}

// --- Running it -------------------------------------------------------------------------------

async function cleanup(): Promise<void> {
  cleanedUp ??= (async () => {
    stopping = true;
    for (const child of wrks) child.kill('SIGTERM');
    // A profiled node writes its profile on exit; give it the time a graceful stop takes.
    await Promise.all(members.map((m) => stop(m.child, CPU_PROF ? 30_000 : 15_000)));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  })();
  return cleanedUp;
}

function onSignal(signal: NodeJS.Signals): void {
  console.error(`\n${signal}: stopping the clusters`);
  void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

/** The result table's columns: heading, width and the figure. */
const COLUMNS: readonly [string, number, (r: Combined) => string][] = [
  ['req/s', 8, (r) => r.rps.toFixed(0)],
  ['p50 ms', 9, (r) => r.p50Ms.toFixed(2)],
  ['p99 ms', 9, (r) => r.p99Ms.toFixed(2)],
  ['worst p99', 11, (r) => r.worstP99Ms.toFixed(2)],
  ['cpu us/req', 10, (r) => r.cpuUsPerReq.toFixed(0)],
  ['errors', 7, (r) => String(r.errors)],
];

function fmt(r: Combined): string {
  return COLUMNS.map(([, width, figure]) => figure(r).padStart(width)).join(' ');
}

async function main(): Promise<void> {
  const unknown = process.argv.slice(2).filter((a) => a !== '--cpu-prof');
  if (unknown.length > 0) {
    throw new Error(`unknown argument ${unknown[0]}; the only one is --cpu-prof`);
  }
  if (!(ROUNDS >= 1 && DURATION_S > 0 && WARMUP_S >= 0)) {
    throw new Error(
      'BENCH_ROUNDS must be at least 1, BENCH_DURATION_S above 0, BENCH_WARMUP_S 0 or more',
    );
  }
  requireWrk();
  if (!existsSync(ETCD_BIN)) {
    throw new Error(`${ETCD_BIN} not found (scripts/install-bench-tools.sh installs etcd)`);
  }
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) throw new Error('run npm run build first');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort when the process exits some other way: no member may outlive the benchmark.
  process.on('exit', () => {
    for (const m of members) if (m.child.exitCode === null) m.child.kill('SIGKILL');
    for (const child of wrks) child.kill('SIGKILL');
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  workDir = mkdtempSync(join(tmpdir(), 'shoal-cluster-bench-'));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(ROOT, 'bench/results');
  const profDir = CPU_PROF ? join(resultsDir, `cluster-cpu-prof-${stamp}`) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });

  const runs: Record<string, Combined[]> = {
    'shoal PUT': [],
    'etcd PUT': [],
    'shoal GET': [],
    'etcd GET': [],
  };
  const windows: Window[] = [];
  // Other work on the machine shows in every figure; the load average says how much there was.
  const loadAtStart = loadavg()[0] ?? 0;
  // dist/ is what runs; this assumes it was built from the tree as it is now (npm run bench:cluster).
  const version = sourceVersion();
  try {
    startShoal(profDir);
    startEtcd();
    await guard(
      Promise.all([
        ...SHOAL_IPS.map((_, i) => shoalReady(i)),
        ...ETCD_IPS.map((_, i) => etcdReady(i)),
      ]),
    );
    console.error('both clusters are up; preloading 10,000 keys into each');
    await preload('shoal');
    await preload('etcd');
    if (WARMUP_S > 0) {
      console.error(`warming up: ${WARMUP_S}s of PUT and of GET on each, not measured`);
      for (const system of ['shoal', 'etcd'] as const) {
        for (const op of ['PUT', 'GET'] as const) await load(system, op, -1, WARMUP_S);
      }
    }

    for (let round = 0; round < ROUNDS; round++) {
      for (const op of ['PUT', 'GET'] as const) {
        // Alternate which system goes first, so that drift on the machine hits both alike.
        const order: System[] = round % 2 === 0 ? ['shoal', 'etcd'] : ['etcd', 'shoal'];
        for (const system of order) {
          const startUs = nowUs();
          const result = await load(system, op, round);
          if (system === 'shoal') windows.push({ op, startUs, endUs: nowUs() });
          runs[`${system} ${op}`]?.push(result);
          console.error(
            `round ${round + 1}/${ROUNDS} ${system} ${op}: ${result.rps.toFixed(0)} req/s, ` +
              `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
              `${result.cpuUsPerReq.toFixed(0)} us CPU/req` +
              (result.errors ? `, ${result.errors} errors` : ''),
          );
        }
      }
    }
    for (const system of ['shoal', 'etcd'] as const) {
      const count = await countKeys(system);
      if (count !== KEYS) throw new Error(`${system} holds ${count} keys, expected ${KEYS}`);
    }

    console.log(
      `\n${NODES}-node clusters on loopback, ${SPLIT.reduce((a, b) => a + b)} connections ` +
        `(${SPLIT.join(' + ')}, one wrk per node), ${KEYS} keys, ${VALUE.length}-byte values, ` +
        `quorum writes and reads; ${WARMUP_S}s warm-up, then ${ROUNDS} x ${DURATION_S}s per ` +
        'cell, best round by req/s.',
    );
    console.log(
      'req/s is the sum over the three wrk processes; p50/p99 are pooled from their latency ' +
        'distributions\n(every request weighs the same); worst p99 is the highest single-node p99; ' +
        'cpu us/req is the CPU time\nthe three members used per request (user + system, all threads).' +
        (CPU_PROF ? '\nProfiled run (--cpu-prof): shoal figures are lower than unprofiled.' : ''),
    );
    console.log(`shoal built from ${version}.`);
    console.log(
      `Load average (1 min) at start ${loadAtStart.toFixed(2)}, at end ${(loadavg()[0] ?? 0).toFixed(2)}.`,
    );
    const headings = COLUMNS.map(([heading, width]) => heading.padStart(width));
    console.log(`\n${''.padEnd(10)}${headings.join(' ')}`);
    const summary: Record<string, Combined> = {};
    for (const [name, results] of Object.entries(runs)) {
      const r = best(results);
      summary[name] = r;
      console.log(`${name.padEnd(10)}${fmt(r)}`);
    }
    console.log('\nshoal/etcd    req/s      p50      p99  cpu/req');
    for (const op of ['PUT', 'GET'] as const) {
      const s = summary[`shoal ${op}`];
      const e = summary[`etcd ${op}`];
      if (!s || !e) continue;
      const ratio = s.rps / e.rps;
      console.log(
        `${op.padEnd(10)}${`${ratio.toFixed(2)}x`.padStart(9)}${`${(s.p50Ms / e.p50Ms).toFixed(2)}x`.padStart(9)}` +
          `${`${(s.p99Ms / e.p99Ms).toFixed(2)}x`.padStart(9)}` +
          `${`${(s.cpuUsPerReq / e.cpuUsPerReq).toFixed(2)}x`.padStart(9)}   target req/s >= ${TARGETS[op]}x: ` +
          (ratio >= TARGETS[op] ? 'met' : 'NOT met'),
      );
    }
    if (Object.values(summary).some((r) => r.errors > 0)) {
      console.log('\nSome runs saw error responses or socket errors: their figures are suspect.');
    }
    mkdirSync(resultsDir, { recursive: true });
    const resultFile = join(resultsDir, `cluster-bench-${stamp}.json`);
    writeFileSync(
      resultFile,
      JSON.stringify(
        {
          durationS: DURATION_S,
          warmupS: WARMUP_S,
          rounds: ROUNDS,
          cpuProf: CPU_PROF,
          version,
          loadAtStart,
          perRound: runs,
        },
        null,
        2,
      ),
    );
    console.log(`\nEvery round: ${relative(ROOT, resultFile)}`);
  } finally {
    const shoal1 = members.find((m) => m.name === 'shoal-1')?.child.pid;
    await cleanup();
    if (profDir) {
      const file = profileOf(profDir, shoal1);
      if (file) summarizeProfile(file, windows);
      else console.log(`\nno profile of shoal-1 in ${profDir}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
