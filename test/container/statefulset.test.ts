// The shoal image, run the way the Helm chart's StatefulSet runs it. The image is built with
// podman from the top-level Dockerfile (scripts/build-image.sh); the chart is rendered with helm,
// with gossip encryption on; three pods of the rendered StatefulSet run as podman containers
// with the pod's own command, env, security context and volumes (see pod-runner.ts), each on its
// own loopback IP as pod IP, all started at once (podManagementPolicy: Parallel). They find each
// other through a DNS server that answers like cluster DNS for the headless Service, and a real
// Prometheus scrapes them. Then one pod is stopped as the kubelet stops it.
//
// Two deviations from a cluster, both through the chart's own extraEnv: pods here share the
// host's network, so each binds its pod IP (SHOAL_BIND_ADDR) instead of 0.0.0.0; and a
// container's /etc/resolv.conf here is the host's, not the cluster's, so SHOAL_DNS_SERVER points
// shoal at the test DNS server.
//
// Replication is not built yet (each node answers from its own store), so the key-value check
// writes and reads through each node's own HTTP port; the cluster check is the member list.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { only, render, type K8sObject } from '../chart/helm.js';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.js';
import {
  containerPort,
  planPod,
  preStopCommand,
  probeBudgetSeconds,
  probeUrl,
  type PodPlan,
} from './pod-runner.js';
import {
  buildImage,
  containerLogs,
  imageSize,
  podman,
  podmanOk,
  removeContainers,
  type ImageBuild,
} from './podman.js';
import { startPrometheus, type Prometheus } from './prometheus.js';

const IMAGE_REPOSITORY = 'localhost/shoal';
const IMAGE_TAG = 'test';
const IMAGE = `${IMAGE_REPOSITORY}:${IMAGE_TAG}`;
const RELEASE = 'shoal';
const NAMESPACE = 'default';
/** The test DNS server and Prometheus listen here; the pods get the next addresses. */
const HOST_IP = '127.0.0.30';
const POD_IPS = ['127.0.0.31', '127.0.0.32', '127.0.0.33'];
/** Fixed names, so a run that was killed leaves nothing the next run trips over. */
const CONTAINER_PREFIX = 'shoal-container-test-';
/** A cold build: debootstrap, the base image, npm ci and tsc in the image build. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const CONVERGE_TIMEOUT_MS = 30_000;
const SCRAPE_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const SCRAPE_INTERVAL_S = 1;

interface Member {
  name: string;
  addr: string;
  gossip_port: number;
  http_port: number;
  state: string;
}

let workDir: string | undefined;
let dns: TestDnsServer | undefined;
let prometheus: Prometheus | undefined;
let statefulSet: K8sObject;
let plans: PodPlan[] = [];
let build: ImageBuild | undefined;
const containerNames = POD_IPS.map((_, i) => `${CONTAINER_PREFIX}${i}`);
/** Sizes and timings. */
const report: string[] = [];

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Printed together when the file ends (also when start-up fails), so the CI log shows them. */
function record(line: string): void {
  report.push(line);
}

function httpUrl(plan: PodPlan): string {
  return `http://${plan.pod.podIP}:${containerPort(plan.container, 'http')}`;
}

/** Polls `check` until it holds; fails with `detail()` (the last thing seen) when time is up. */
async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  detail: () => string | Promise<string>,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) {
      throw new Error(`${what}: not within ${seconds(timeoutMs)}\n${await detail()}`);
    }
    await sleep(POLL_MS);
  }
}

async function httpStatus(url: string, timeoutSeconds: number): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  await res.arrayBuffer();
  return res.status;
}

async function containerState(name: string): Promise<string> {
  return (await podmanOk(['inspect', '--format', '{{.State.Status}}', name])).trim();
}

/**
 * Starts a pod's container and waits until its readiness probe (path and port from the spec)
 * answers 200; returns the times from `podman run` to the probe's first answer (the process
 * serves HTTP) and to ready (joined). The kubelet probes every periodSeconds; this polls more
 * often, to measure the start-up itself, and gives up after the startup probe's budget, when
 * the kubelet would restart the container.
 */
async function startPod(plan: PodPlan): Promise<{ answeredMs: number; readyMs: number }> {
  const { container } = plan;
  const readiness = container.readinessProbe;
  const url = probeUrl(readiness, container, plan.pod);
  const budgetMs = probeBudgetSeconds(container.startupProbe ?? readiness) * 1000;
  const started = performance.now();
  await podmanOk(['run', ...plan.runArgs]);
  let lastStatus = 'no answer';
  let answeredMs: number | undefined;
  let lastStateCheck = started;
  for (;;) {
    const status = await httpStatus(url, readiness.timeoutSeconds ?? 1).catch(
      (err: Error) => err.message,
    );
    if (typeof status === 'number') answeredMs ??= performance.now() - started;
    if (status === 200) {
      return { answeredMs: answeredMs ?? 0, readyMs: performance.now() - started };
    }
    lastStatus = String(status);
    const now = performance.now();
    let exited = false;
    if (now - lastStateCheck > 1000) {
      lastStateCheck = now;
      exited = (await containerState(plan.containerName)) !== 'running';
    }
    if (exited || now - started > budgetMs) {
      const why = exited ? 'exited' : `not ready within ${seconds(budgetMs)}`;
      throw new Error(
        `${plan.pod.name} ${why} (readiness ${url}: ${lastStatus}):\n${await containerLogs(plan.containerName)}`,
      );
    }
    await sleep(POLL_MS);
  }
}

async function membersSeenBy(plan: PodPlan): Promise<Member[]> {
  const res = await fetch(`${httpUrl(plan)}/v1/cluster/members`, {
    signal: AbortSignal.timeout(3_000),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { self: string; members: Member[] };
  expect(body.self).toBe(plan.pod.name);
  return body.members;
}

async function views(observers: PodPlan[]): Promise<string> {
  const seen: Record<string, unknown> = {};
  for (const plan of observers) {
    seen[plan.pod.name] = await membersSeenBy(plan).catch((err: Error) => err.message);
  }
  return JSON.stringify(seen, null, 1);
}

beforeAll(
  async () => {
    await removeContainers(containerNames);
    build = await buildImage(IMAGE, BUILD_TIMEOUT_MS);
    record(`image build (scripts/build-image.sh): ${seconds(build.durationMs)}`);
    for (const step of build.steps) record(`  ${step}`);
    const bytes = await imageSize(IMAGE);
    record(`image ${IMAGE}: ${(bytes / 1e6).toFixed(1)} MB (${bytes} bytes)`);

    workDir = mkdtempSync(join(tmpdir(), 'shoal-container-'));
    dns = await startDnsServer({ host: HOST_IP });

    const renderStarted = performance.now();
    const valuesFile = join(workDir, 'values.yaml');
    // JSON is YAML: the values a user would put in a values file for this run.
    writeFileSync(
      valuesFile,
      JSON.stringify({
        image: { repository: IMAGE_REPOSITORY, tag: IMAGE_TAG, pullPolicy: 'Never' },
        gossip: { encryption: { enabled: true } },
        extraEnv: [
          // Pods share the host's network here: each binds only its own pod IP.
          { name: 'SHOAL_BIND_ADDR', value: '$(SHOAL_ADVERTISE_ADDR)' },
          // The container's resolv.conf is the host's, not the cluster's: ask the test DNS server.
          { name: 'SHOAL_DNS_SERVER', value: `${dns.host}:${dns.port}` },
        ],
      }),
    );
    const objects = await render({
      release: RELEASE,
      namespace: NAMESPACE,
      extraArgs: ['--values', valuesFile],
    });
    statefulSet = only(objects, 'StatefulSet');
    const secrets = objects.filter((o) => o.kind === 'Secret');
    const headless = only(objects, 'Service', statefulSet['spec'].serviceName as string);
    record(`helm template: ${seconds(performance.now() - renderStarted)}`);

    plans = POD_IPS.map((podIP, i) =>
      planPod({
        statefulSet,
        secrets,
        pod: { name: `${statefulSet.metadata.name}-${i}`, namespace: NAMESPACE, podIP },
        containerName: containerNames[i] as string,
        hostDir: join(workDir as string, `pod-${i}`),
      }),
    );

    // Cluster DNS for the headless Service: its pods, with the gossip port's number, listed
    // before they are ready (publishNotReadyAddresses).
    const first = plans[0] as PodPlan;
    const gossip = (headless['spec'].ports as { name: string; targetPort: string | number }[]).find(
      (p) => p.name === 'gossip',
    );
    expect(gossip).toBeDefined();
    expect(headless['spec'].publishNotReadyAddresses).toBe(true);
    dns.setPods(
      first.env['SHOAL_DISCOVERY_DNS'] as string,
      plans.map((plan) => ({ name: plan.pod.name, ip: plan.pod.podIP })),
      containerPort(first.container, gossip?.targetPort ?? 'gossip'),
    );

    const startedAll = performance.now();
    const times = await Promise.all(plans.map(startPod));
    plans.forEach((plan, i) => {
      const { answeredMs, readyMs } = times[i] as { answeredMs: number; readyMs: number };
      record(
        `${plan.pod.name}: podman run to first HTTP answer ${seconds(answeredMs)}, ` +
          `to ready ${seconds(readyMs)}`,
      );
    });
    record(`all three pods ready: ${seconds(performance.now() - startedAll)}`);
  },
  BUILD_TIMEOUT_MS + 5 * 60_000,
);

afterAll(async () => {
  await prometheus?.stop();
  await removeContainers(containerNames);
  await dns?.close();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  console.log(`[container] summary\n  ${report.join('\n  ')}`);
}, 60_000);

describe("the image, run as the chart's StatefulSet runs it", () => {
  it('runs the pod spec as rendered: encrypted gossip from the Secret file, DNS discovery', () => {
    const env = (plans[0] as PodPlan).env;
    expect(env['SHOAL_NODE_NAME']).toBe(`${RELEASE}-0`);
    expect(env['SHOAL_BIND_ADDR']).toBe(POD_IPS[0]);
    expect(env['SHOAL_ADVERTISE_ADDR']).toBe(POD_IPS[0]);
    expect(env['SHOAL_DISCOVERY_DNS']).toBe(`${RELEASE}-headless.${NAMESPACE}.svc.cluster.local`);
    expect(env['SHOAL_GOSSIP_KEYS_FILE']).toMatch(/^\/.+\/gossip-key$/);
    expect(Object.keys((plans[0] as PodPlan).volumeDirs).sort()).toEqual(['data', 'gossip-keys']);
  });

  it('runs node itself as PID 1, as user 1000, with no capabilities and a read-only root', async () => {
    for (const plan of plans) {
      const status = await podmanOk(['exec', plan.containerName, 'cat', '/proc/1/status']);
      const field = (name: string): string | undefined =>
        new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
      expect(field('Uid')?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      expect(field('Gid')?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
      expect(field('CapEff')).toBe('0000000000000000');
      expect(field('CapBnd')).toBe('0000000000000000');
      expect(field('NoNewPrivs')).toBe('1');
      // SIGTERM goes to PID 1: it must be node, not a shell that would swallow it.
      const cmdline = await podmanOk(['exec', plan.containerName, 'cat', '/proc/1/cmdline']);
      expect(cmdline.split('\0').filter(Boolean)).toEqual([
        'node',
        '/app/dist/src/main.js',
        'serve',
      ]);
      const write = await podman(['exec', plan.containerName, 'touch', '/app/written']);
      expect(write.code).not.toBe(0);
      expect(write.stderr).toMatch(/Read-only file system/);
    }
  });

  it('answers the startup, liveness and readiness probes at each pod IP', async () => {
    for (const plan of plans) {
      const { container } = plan;
      for (const probe of [
        container.startupProbe,
        container.livenessProbe,
        container.readinessProbe,
      ]) {
        expect(probe).toBeDefined();
        const url = probeUrl(probe, container, plan.pod);
        expect(await httpStatus(url, probe.timeoutSeconds ?? 1)).toBe(200);
      }
    }
  });

  it('forms one cluster through headless-service DNS: each node sees the three pods alive', async () => {
    await waitFor(
      'three alive members seen by every node',
      CONVERGE_TIMEOUT_MS,
      async () => {
        for (const plan of plans) {
          const members = await membersSeenBy(plan);
          if (members.length !== 3 || members.some((m) => m.state !== 'alive')) return false;
        }
        return true;
      },
      () => views(plans),
    );
    for (const plan of plans) {
      const members = await membersSeenBy(plan);
      expect(members.map((m) => m.name).sort()).toEqual(plans.map((p) => p.pod.name));
      for (const member of members) {
        const owner = plans.find((p) => p.pod.name === member.name) as PodPlan;
        expect(member.addr).toBe(owner.pod.podIP);
        expect(member.http_port).toBe(containerPort(owner.container, 'http'));
        expect(member.gossip_port).toBe(containerPort(owner.container, 'gossip'));
      }
    }
  });

  it("writes and reads a key through each node's own HTTP port, into the pod's volume", async () => {
    for (const plan of plans) {
      const key = `container-test/${plan.pod.name}`;
      const value = `written through ${plan.pod.name}`;
      const url = `${httpUrl(plan)}/v1/kv/${encodeURIComponent(key)}`;
      const put = await fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'text/plain' },
        body: value,
      });
      expect(put.status).toBe(200);
      expect(await put.json()).toMatchObject({ key });
      const get = await fetch(url);
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await get.text()).toBe(value);
      // The store lives in the volume mounted at /data, not in the (read-only) image.
      expect(readdirSync(plan.volumeDirs['data'] as string).length).toBeGreaterThan(0);
    }
  });

  it('reads on every node what was written through another (replicated, quorum)', async () => {
    for (const [i, writer] of plans.entries()) {
      const key = `replicated/${writer.pod.name}`;
      const put = await fetch(`${httpUrl(writer)}/v1/kv/${encodeURIComponent(key)}`, {
        method: 'PUT',
        body: `from ${writer.pod.name}`,
      });
      expect(put.status).toBe(200);
      const reader = plans[(i + 1) % plans.length] as PodPlan;
      const get = await fetch(`${httpUrl(reader)}/v1/kv/${encodeURIComponent(key)}`);
      expect(get.status).toBe(200);
      expect(await get.text()).toBe(`from ${writer.pod.name}`);
    }
  });

  it(
    'is scraped by a real Prometheus the way the pod annotations ask: up is 1 for all three',
    async () => {
      const annotations = statefulSet['spec'].template.metadata.annotations as Record<
        string,
        string
      >;
      expect(annotations['prometheus.io/scrape']).toBe('true');
      const port = annotations['prometheus.io/port'] as string;
      const started = performance.now();
      prometheus = await startPrometheus({
        host: HOST_IP,
        dir: mkdtempSync(join(workDir as string, 'prometheus-')),
        jobName: statefulSet.metadata.name,
        metricsPath: annotations['prometheus.io/path'] as string,
        targets: plans.map((plan) => ({
          address: `${plan.pod.podIP}:${port}`,
          labels: { namespace: NAMESPACE, pod: plan.pod.name },
        })),
        scrapeIntervalSeconds: SCRAPE_INTERVAL_S,
      });
      const server = prometheus;
      const readyMs = performance.now() - started;
      let last = '';
      await waitFor(
        'count(up == 1) is 3, and every pod reports three alive members',
        SCRAPE_TIMEOUT_MS,
        async () => {
          const up = await server.query('count(up == 1)');
          const alive = await server.query('shoal_cluster_members{state="alive"}');
          last = JSON.stringify({ up, alive });
          return up[0]?.value === 3 && alive.length === 3 && alive.every((s) => s.value === 3);
        },
        async () => `last answers: ${last}\n${server.log()}`,
      );
      const up = await server.query('up');
      expect(up.map((s) => s.metric['pod']).sort()).toEqual(plans.map((p) => p.pod.name));
      expect(up.every((s) => s.value === 1)).toBe(true);
      record(
        `prometheus: ready ${seconds(readyMs)}, three targets up ` +
          `${seconds(performance.now() - started)} after its start`,
      );
    },
    SCRAPE_TIMEOUT_MS + 30_000,
  );

  it('stops a pod as the kubelet does: preStop, SIGTERM, exit 0 in the grace period, seen as left', async () => {
    const victim = plans[plans.length - 1] as PodPlan;
    const others = plans.filter((p) => p !== victim);
    const grace = victim.terminationGracePeriodSeconds;
    const started = performance.now();
    // The grace period covers the preStop hook and the stop that follows it.
    const hook = preStopCommand(victim.container);
    if (hook !== undefined) {
      const result = await podman(['exec', victim.containerName, ...hook], grace * 1000);
      expect(result.code, `preStop ${hook.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const left = Math.max(1, grace - Math.ceil((performance.now() - started) / 1000));
    const stopStarted = performance.now();
    await podmanOk(['stop', '--time', String(left), victim.containerName], (left + 30) * 1000);
    record(
      `${victim.pod.name}: preStop + stop ${seconds(performance.now() - started)} ` +
        `(SIGTERM to exit ${seconds(performance.now() - stopStarted)}; grace ${grace} s)`,
    );
    // 0, not 137: shoal left on SIGTERM before podman's SIGKILL at the end of the grace period.
    const exitCode = await podmanOk([
      'inspect',
      '--format',
      '{{.State.ExitCode}}',
      victim.containerName,
    ]);
    expect(exitCode.trim(), await containerLogs(victim.containerName)).toBe('0');

    await waitFor(
      `${victim.pod.name} seen as left`,
      CONVERGE_TIMEOUT_MS,
      async () => {
        for (const plan of others) {
          const members = await membersSeenBy(plan);
          if (members.find((m) => m.name === victim.pod.name)?.state !== 'left') return false;
        }
        return true;
      },
      () => views(others),
    );
    for (const plan of others) {
      const states = Object.fromEntries((await membersSeenBy(plan)).map((m) => [m.name, m.state]));
      expect(states[plan.pod.name]).toBe('alive');
      expect(states[victim.pod.name]).toBe('left');
    }
    const server = prometheus;
    if (server !== undefined) {
      await waitFor(
        `Prometheus sees ${victim.pod.name} down`,
        SCRAPE_TIMEOUT_MS,
        async () => (await server.query(`up{pod="${victim.pod.name}"} == 0`)).length === 1,
        () => server.log(),
      );
    }
  }, 180_000);
});
