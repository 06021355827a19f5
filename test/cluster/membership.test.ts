// Five real `shoal serve` processes, each on its own loopback IP with the same ports (as pods
// are), finding each other through a DNS server that answers like cluster DNS for the headless
// Service. Gossip is encrypted; an intruder with another key is in DNS but never gets in.

import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Envelope } from '../../src/cluster/envelope.js';
import { Keyring } from '../../src/cluster/security/keyring.js';
import { waitUntil } from '../e2e/helpers.js';
import { startDnsServer, type PodRecord, type TestDnsServer } from '../support/dns-server.js';
import { makeTempDir, runShoal, startShoal, type ShoalProcess } from '../support/shoal-process.js';

const SERVICE = 'shoal-headless.default.svc.cluster.local';
const HTTP_PORT = 18_080;
const GOSSIP_PORT = 17_946;
const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
/** Failure detection needs a probe, then the suspicion timeout (up to 6 x 4 s with few confirmations). */
const DETECT_TIMEOUT_MS = 60_000;

interface Member {
  name: string;
  addr: string;
  gossip_port: number;
  http_port: number;
  state: string;
  incarnation: number;
}

const ips = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24', '127.0.0.25'];
const names = ips.map((_, i) => `shoal-${i}`);
const dataDirs = names.map(() => makeTempDir('shoal-cluster-'));
const nodes = new Map<string, ShoalProcess>();
const podIps = new Map<string, string>(names.map((name, i) => [name, ips[i] ?? '']));
let dns: TestDnsServer;

function publishPods(): void {
  const pods: PodRecord[] = [...podIps].map(([name, ip]) => ({ name, ip }));
  dns.setPods(SERVICE, pods, GOSSIP_PORT);
}

function start(name: string, ip: string, key = KEY): Promise<ShoalProcess> {
  return startShoal({
    host: ip,
    httpPort: HTTP_PORT,
    gossipPort: GOSSIP_PORT,
    nodeName: name,
    dataDir: dataDirs[names.indexOf(name)] ?? makeTempDir('shoal-cluster-'),
    readyTimeoutMs: 30_000,
    env: {
      SHOAL_DISCOVERY_DNS: SERVICE,
      SHOAL_DNS_SERVER: `${dns.host}:${dns.port}`,
      SHOAL_GOSSIP_KEYS: key,
      SHOAL_LOG_LEVEL: 'warn',
    },
  });
}

async function membersSeenBy(node: ShoalProcess): Promise<Member[]> {
  const res = await fetch(`${node.url}/v1/cluster/members`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { self: string; members: Member[] };
  expect(body.self).toBe(node.nodeName);
  return body.members;
}

/** Polls until every listed node's view passes `check`; fails with the last views seen. */
async function eventually(
  observers: ShoalProcess[],
  check: (members: Member[]) => boolean,
  what: string,
  timeoutMs = DETECT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let views: Record<string, Member[]> = {};
  for (;;) {
    views = {};
    for (const node of observers) views[node.nodeName] = await membersSeenBy(node).catch(() => []);
    if (Object.values(views).every(check)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not everyone saw ${what} within ${timeoutMs} ms:\n${JSON.stringify(views, null, 1)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const stateOf = (members: Member[], name: string): string | undefined =>
  members.find((m) => m.name === name)?.state;
const running = (): ShoalProcess[] => [...nodes.values()];

beforeAll(async () => {
  dns = await startDnsServer({ host: '127.0.0.20' });
  publishPods();
  const started = await Promise.all(names.map((name, i) => start(name, ips[i] ?? '')));
  for (const node of started) nodes.set(node.nodeName, node);
}, 60_000);

afterAll(async () => {
  await Promise.all(running().map((node) => node.stop().catch(() => undefined)));
  await dns?.close();
});

describe('a five-node cluster found through headless-service DNS', () => {
  it('converges: every node sees all five alive, with their addresses and HTTP ports', async () => {
    await eventually(
      running(),
      (members) => members.length === 5 && members.every((m) => m.state === 'alive'),
      'five alive members',
      30_000,
    );
    const view = await membersSeenBy(running()[0] as ShoalProcess);
    expect(view.map((m) => m.name).sort()).toEqual(names);
    for (const member of view) {
      expect(member.addr).toBe(podIps.get(member.name));
      expect(member.gossip_port).toBe(GOSSIP_PORT);
      expect(member.http_port).toBe(HTTP_PORT);
    }
  });

  it('exports the membership metrics and lists members in the CLI', async () => {
    const node = running()[0] as ShoalProcess;
    const expected = [
      /shoal_cluster_members\{state="alive"\} 5\n/,
      /shoal_cluster_members\{state="dead"\} 0\n/,
      /shoal_gossip_messages_total\{direction="out",type="ping"\} [1-9]/,
      /shoal_gossip_messages_total\{direction="in",type="ack"\} [1-9]/,
      /shoal_gossip_local_health \d/,
      /shoal_discovery_lookups_total\{outcome="srv"\} [1-9]/,
    ];
    // Probes start within a probe interval of joining; poll until the first ones are counted.
    let metrics = '';
    for (let tries = 0; tries < 40; tries++) {
      metrics = await (await fetch(`${node.url}/metrics`)).text();
      if (expected.every((pattern) => pattern.test(metrics))) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const pattern of expected) expect(metrics).toMatch(pattern);

    const cli = await runShoal(['members', '--addr', node.url]);
    expect(cli.code).toBe(0);
    const lines = cli.stdout.toString().trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ADDRESS\s+HTTP\s+STATE\s+INCARNATION$/);
    expect(lines).toHaveLength(6);
    expect(lines.some((line) => line.startsWith(`${node.nodeName} (self)`))).toBe(true);
  });

  it('declares a killed (-9) node dead everywhere, and alive again when it restarts', async () => {
    const victim = nodes.get('shoal-4') as ShoalProcess;
    victim.signal('SIGKILL');
    await victim.waitForExit();
    nodes.delete('shoal-4');
    await eventually(
      running(),
      (members) => stateOf(members, 'shoal-4') === 'dead',
      'shoal-4 dead',
    );

    const before = (await membersSeenBy(running()[0] as ShoalProcess)).find(
      (m) => m.name === 'shoal-4',
    );
    nodes.set('shoal-4', await start('shoal-4', podIps.get('shoal-4') ?? ''));
    await eventually(
      running(),
      (members) => stateOf(members, 'shoal-4') === 'alive',
      'shoal-4 alive again',
      30_000,
    );
    const after = (await membersSeenBy(running()[0] as ShoalProcess)).find(
      (m) => m.name === 'shoal-4',
    );
    // The restart won over its stale dead record with a higher incarnation.
    expect(after?.incarnation).toBeGreaterThan(before?.incarnation ?? Infinity);
  });

  it('accepts a restarted pod at its new IP', async () => {
    const moved = nodes.get('shoal-3') as ShoalProcess;
    moved.signal('SIGKILL');
    await moved.waitForExit();
    nodes.delete('shoal-3');
    podIps.set('shoal-3', '127.0.0.26');
    publishPods();
    nodes.set('shoal-3', await start('shoal-3', '127.0.0.26'));
    await eventually(
      running(),
      (members) =>
        members.some((m) => m.name === 'shoal-3' && m.state === 'alive' && m.addr === '127.0.0.26'),
      'shoal-3 alive at 127.0.0.26',
      30_000,
    );
  });

  it('never admits a node whose gossip key differs, though DNS lists it', async () => {
    podIps.set('intruder', '127.0.0.27');
    publishPods();
    const intruder = await start('intruder', '127.0.0.27', OTHER_KEY);
    try {
      // Long enough for its start-up discovery rounds and several gossip and probe rounds.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      for (const node of running()) {
        expect((await membersSeenBy(node)).map((m) => m.name)).not.toContain('intruder');
      }
      expect((await membersSeenBy(intruder)).map((m) => m.name)).toEqual(['intruder']);
      const metrics = await (await fetch(`${(running()[0] as ShoalProcess).url}/metrics`)).text();
      expect(metrics).toMatch(
        /shoal_gossip_packets_dropped_total\{reason="decrypt_failed"\} [1-9]/,
      );
    } finally {
      await intruder.stop();
      podIps.delete('intruder');
      publishPods();
    }
  });

  it('drops a packet sealed with the cluster key long ago, as a replay would be', async () => {
    const node = running()[0] as ShoalProcess;
    const elevenMinutesAgo = (): number => Date.now() - 11 * 60 * 1000;
    const old = new Envelope('shoal', Keyring.fromBase64([KEY]), elevenMinutesAgo);
    const socket = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) =>
        socket.send(old.seal(Buffer.from('captured')), GOSSIP_PORT, node.host, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    } finally {
      socket.close();
    }
    await waitUntil('the stale packet counted as dropped', async () =>
      /shoal_gossip_packets_dropped_total\{reason="stale"\} [1-9]/.test(
        await (await fetch(`${node.url}/metrics`)).text(),
      ),
    );
  });

  it('shows a node that got SIGTERM as left (not dead), and it exits 0', async () => {
    const leaver = nodes.get('shoal-2') as ShoalProcess;
    nodes.delete('shoal-2');
    expect(await leaver.stop()).toMatchObject({ code: 0 });
    await eventually(
      running(),
      (members) => stateOf(members, 'shoal-2') === 'left',
      'shoal-2 left',
      15_000,
    );
  });

  it('lets an operator remove a dead member for good, and refuses alive ones', async () => {
    const observer = running()[0] as ShoalProcess;
    const alive = await fetch(`${observer.url}/v1/cluster/members/shoal-1`, { method: 'DELETE' });
    expect(alive.status).toBe(409);
    expect(((await alive.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');
    const unknown = await fetch(`${observer.url}/v1/cluster/members/nobody`, { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    const removed = await fetch(`${observer.url}/v1/cluster/members/shoal-2`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await membersSeenBy(observer)).map((m) => m.name)).not.toContain('shoal-2');
  });
});
