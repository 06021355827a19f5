// SWIM + Lifeguard in the seeded cluster simulator, at N = 10, 100 and 1,000 members, against
// what the SWIM paper and memberlist's formulas predict. All times are simulated except the last
// column, the wall time the simulator needs per simulated minute of a steady cluster.
//
// Usage: npx tsc -p tsconfig.json && node dist/bench/swim-sim-bench.js
//        BENCH_SIZES=10,100 BENCH_TRIALS=30 BENCH_SEED=7 node dist/bench/swim-sim-bench.js
//        BENCH_FORMATION=0 ...   (skip the join-storm measurement, the slow part at 1,000)
//
// Measured, per size:
// - first detection: from a crash to the start of the first probe of the crashed member, counted
//   as SWIM counts it (the protocol periods up to and including the one the probe falls in;
//   the paper's expectation is e/(e-1) = 1.58), and in continuous time from the crash to the
//   first suspicion (that probe's start plus the probe period itself);
// - dead everywhere: from the first suspicion, and from the crash, until every member holds the
//   crashed one dead, beside the minimum suspicion timeout 4 * max(1, log10 N) s;
// - dissemination: from one member's metadata change until every member has it;
// - bytes sent per member per second in a steady cluster (datagrams and push-pulls, encoded);
// - formation: 3 seeds first, everyone else joining over 10 s: time until everyone sees everyone
//   alive, and bytes per member per second meanwhile.

import { splitPacket } from '../src/cluster/wire/codec.js';
import { resolveSwimConfig, suspicionTimeoutMs } from '../src/cluster/swim/config.js';
import { SimCluster, type SimNode } from '../test/sim/cluster.js';
import { formCluster, nodeName } from '../test/sim/scenario.js';

const SIZES = (process.env['BENCH_SIZES'] ?? '10,100,1000').split(',').map(Number);
const SEED = Number(process.env['BENCH_SEED'] ?? 1);
const TRIALS =
  process.env['BENCH_TRIALS'] === undefined ? undefined : Number(process.env['BENCH_TRIALS']);
const FORMATION = process.env['BENCH_FORMATION'] !== '0';

const CONFIG = resolveSwimConfig();
const PERIOD_MS = CONFIG.probeIntervalMs;
const WARMUP_MS = 20_000;
const STEADY_WINDOW_MS = 60_000;
const DISSEMINATIONS = 5;
const SWIM_EXPECTED_PERIODS = Math.E / (Math.E - 1);
/** Targets this project holds itself to. */
const TARGET = {
  detectionPeriods: 1.6,
  deadAfterMinMs: 2_000,
  disseminationMs: 2_000,
  bytesPerMemberPerS: 5_000,
  wallPerSimMinuteMs: 60_000,
};

interface SizeResult {
  n: number;
  trials: number;
  detectionPeriods: number;
  /** Standard error of detectionPeriods. */
  detectionPeriodsSe: number;
  firstSuspectPeriods: number;
  deadAfterSuspectMs: number;
  deadAfterCrashMs: number;
  suspicionMinMs: number;
  disseminationMeanMs: number;
  disseminationMaxMs: number;
  bytesPerMemberPerS: number;
  wallPerSimMinuteMs: number;
  formationMs?: number;
  formationBytesPerMemberPerS?: number;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function standardError(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance / xs.length);
}

function totalBytes(nodes: SimNode[]): number {
  let bytes = 0;
  for (const node of nodes) bytes += node.bytesSent;
  return bytes;
}

function converged(cluster: SimCluster, n: number): SimCluster {
  for (let i = 0; i < n; i++) cluster.addNode(nodeName(i));
  cluster.bootstrapConverged();
  cluster.runFor(WARMUP_MS);
  if (!cluster.converged()) throw new Error(`bootstrap of ${n} did not settle`);
  return cluster;
}

function measureSize(n: number): SizeResult {
  const cluster = converged(new SimCluster({ seed: SEED + n }), n);

  // Steady state: traffic and simulator speed.
  const bytesBefore = totalBytes(cluster.allNodes());
  const wallStart = performance.now();
  cluster.runFor(STEADY_WINDOW_MS);
  const wallPerSimMinuteMs = ((performance.now() - wallStart) * 60_000) / STEADY_WINDOW_MS;
  const bytesPerMemberPerS =
    (totalBytes(cluster.allNodes()) - bytesBefore) / n / (STEADY_WINDOW_MS / 1_000);

  // Dissemination of one broadcast.
  const disseminations: number[] = [];
  for (let i = 0; i < DISSEMINATIONS; i++) {
    const origin = nodeName(cluster.network.pick(n));
    const incarnation = cluster.act(origin, (core) => {
      core.setMeta(new Uint8Array([i]));
      return core.incarnation;
    });
    const took = cluster.runUntil(
      () =>
        cluster
          .upNodes()
          .every((node) => (node.core.member(origin)?.incarnation ?? 0) >= incarnation),
      30_000,
      5,
    );
    if (took === undefined) throw new Error(`broadcast from ${origin} did not reach everyone`);
    disseminations.push(took);
    cluster.runFor(2_000);
  }

  // Crashes: who probes the victim first, who suspects it first, when all hold it dead.
  let victimAddr = '';
  let crashedAtMs = Infinity;
  let firstProbeMs = Infinity;
  cluster.onPacket((_from, to, bytes, nowMs) => {
    if (to.addr !== victimAddr || nowMs < crashedAtMs || firstProbeMs !== Infinity) return;
    if (splitPacket(bytes).some((m) => m.type === 'ping')) firstProbeMs = nowMs;
  });
  let firstSuspectMs = Infinity;
  let victimName = '';
  cluster.onEvent((_node, event, nowMs) => {
    if (event.type === 'suspect' && event.member.name === victimName && nowMs < firstSuspectMs) {
      firstSuspectMs = nowMs;
    }
  });
  // Detection times are geometric, with a standard deviation near one period: enough trials to
  // tell 1.58 from 2, fewer where each costs more.
  const trials = TRIALS ?? (n >= 1_000 ? 40 : 300);
  const detection: number[] = [];
  const firstSuspect: number[] = [];
  const deadAfterSuspect: number[] = [];
  const deadAfterCrash: number[] = [];
  for (let t = 0; t < trials; t++) {
    // A random phase relative to everyone's probe schedule.
    cluster.runFor(cluster.network.pick(PERIOD_MS * 3));
    victimName = nodeName(cluster.network.pick(n));
    const victim = cluster.node(victimName);
    victimAddr = victim.addr;
    firstProbeMs = Infinity;
    firstSuspectMs = Infinity;
    crashedAtMs = cluster.now;
    cluster.crash(victimName);
    const took = cluster.runUntil(() => cluster.allSee(victimName, 'dead'), 120_000, 10);
    if (took === undefined) throw new Error(`crash of ${victimName} not detected everywhere`);
    detection.push(Math.max(1, Math.ceil((firstProbeMs - crashedAtMs) / PERIOD_MS)));
    firstSuspect.push((firstSuspectMs - crashedAtMs) / PERIOD_MS);
    deadAfterCrash.push(took);
    deadAfterSuspect.push(crashedAtMs + took - firstSuspectMs);
    // Back to full size: the member restarts (new incarnation) and rejoins.
    victimAddr = '';
    cluster.restart(victimName, { seeds: [nodeName(victimName === nodeName(0) ? 1 : 0)] });
    if (cluster.runUntil(() => cluster.converged(), 60_000, 100) === undefined) {
      throw new Error(`${victimName} did not rejoin: ${cluster.describeDivergence()}`);
    }
  }

  const result: SizeResult = {
    n,
    trials,
    detectionPeriods: mean(detection),
    detectionPeriodsSe: standardError(detection),
    firstSuspectPeriods: mean(firstSuspect),
    deadAfterSuspectMs: mean(deadAfterSuspect),
    deadAfterCrashMs: mean(deadAfterCrash),
    suspicionMinMs: suspicionTimeoutMs(CONFIG, n),
    disseminationMeanMs: mean(disseminations),
    disseminationMaxMs: Math.max(...disseminations),
    bytesPerMemberPerS,
    wallPerSimMinuteMs,
  };

  if (FORMATION) {
    const windowMs = 10_000;
    const formed = formCluster({
      seed: SEED + n + 1,
      size: n,
      startWindowMs: windowMs,
      convergeWithinMs: 120_000,
    });
    result.formationMs = formed.now;
    result.formationBytesPerMemberPerS = totalBytes(formed.allNodes()) / n / (formed.now / 1_000);
  }
  return result;
}

function fmt(x: number, digits = 0): string {
  return x.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function mark(ok: boolean): string {
  return ok ? 'ok' : 'MISSED';
}

const results: SizeResult[] = [];
for (const n of SIZES) {
  const started = performance.now();
  const r = measureSize(n);
  results.push(r);
  const wallS = (performance.now() - started) / 1_000;
  console.log(`\nN = ${fmt(n)}  (seed ${SEED + n}, ${r.trials} crashes, ${fmt(wallS, 1)} s wall)`);
  console.log(
    `  first detection       ${fmt(r.detectionPeriods, 2)} ± ${fmt(r.detectionPeriodsSe, 2)} periods (SWIM: e/(e-1) = ${fmt(SWIM_EXPECTED_PERIODS, 2)}; target <= ${TARGET.detectionPeriods}) ${mark(r.detectionPeriods <= TARGET.detectionPeriods)}`,
  );
  console.log(
    `  crash -> first suspect ${fmt(r.firstSuspectPeriods, 2)} periods (the probe that fails takes one period itself)`,
  );
  console.log(
    `  suspect -> dead at all ${fmt(r.deadAfterSuspectMs)} ms (min suspicion timeout ${fmt(r.suspicionMinMs)} ms; target <= min + ${TARGET.deadAfterMinMs}) ${mark(r.deadAfterSuspectMs <= r.suspicionMinMs + TARGET.deadAfterMinMs)}`,
  );
  console.log(`  crash -> dead at all   ${fmt(r.deadAfterCrashMs)} ms`);
  console.log(
    `  broadcast to all      mean ${fmt(r.disseminationMeanMs)} ms, max ${fmt(r.disseminationMaxMs)} ms (target <= ${TARGET.disseminationMs}) ${mark(r.disseminationMaxMs <= TARGET.disseminationMs)}`,
  );
  console.log(
    `  steady traffic        ${fmt(r.bytesPerMemberPerS)} B/s sent per member (target <= ${TARGET.bytesPerMemberPerS}) ${mark(r.bytesPerMemberPerS <= TARGET.bytesPerMemberPerS)}`,
  );
  console.log(
    `  simulator speed       ${fmt(r.wallPerSimMinuteMs)} ms wall per simulated minute (target <= ${TARGET.wallPerSimMinuteMs}) ${mark(r.wallPerSimMinuteMs <= TARGET.wallPerSimMinuteMs)}`,
  );
  if (r.formationMs !== undefined && r.formationBytesPerMemberPerS !== undefined) {
    console.log(
      `  formation (10 s joins) everyone sees everyone at ${fmt(r.formationMs / 1_000, 1)} s; ${fmt(r.formationBytesPerMemberPerS)} B/s per member meanwhile`,
    );
  }
}
console.log(`\n${JSON.stringify(results)}`);
