import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Discovery,
  REDISCOVER_INTERVAL_MS,
  STARTUP_ATTEMPTS,
  startupRetryDelayMs,
} from '../../../src/cluster/discovery/discovery.js';
import { randomInt } from 'node:crypto';
import { startDnsServer, type TestDnsServer } from '../../support/dns-server.js';

/** Loopback addresses tried for a server on port 53 before the test gives up. */
const PORT_53_ADDRESS_ATTEMPTS = 5;

async function startOnPort53(): Promise<TestDnsServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsServer({ host: `127.0.53.${randomInt(2, 255)}`, port: 53 });
    } catch (err) {
      if (attempt >= PORT_53_ADDRESS_ATTEMPTS) throw err;
    }
  }
}

const SERVICE = 'shoal-headless.default.svc.cluster.local';
const GOSSIP_PORT = 7946;
const FAST = { timeoutMs: 250, attempts: 2, backoffMs: 10, backoffMaxMs: 40 };
const PODS = [
  { name: 'shoal-0', ip: '10.1.0.10' },
  { name: 'shoal-1', ip: '10.1.0.11' },
  { name: 'shoal-2', ip: '10.1.0.12' },
];

describe('discovery', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer();
    dns.addRecord({ type: 'A', name: 'seed.example', address: '10.5.0.1' });
  });
  afterAll(async () => {
    await dns.close();
  });
  beforeEach(() => {
    dns.behave({ rcode: undefined });
    dns.setPods(SERVICE, PODS, GOSSIP_PORT);
  });

  it('joins DNS peers and seeds, without duplicates and without itself', async () => {
    const discovery = new Discovery({
      dnsName: SERVICE,
      dnsServer: dns.address,
      seeds: [{ host: '10.1.0.11' }, { host: 'seed.example', port: 7000 }],
      defaultPort: GOSSIP_PORT,
      self: { host: '10.1.0.10', port: GOSSIP_PORT },
      query: FAST,
    });
    const result = await discovery.discover();
    expect(result).toEqual({
      outcome: 'srv',
      dnsError: undefined,
      seedFailures: [],
      peers: [
        { host: '10.1.0.11', port: GOSSIP_PORT },
        { host: '10.1.0.12', port: GOSSIP_PORT },
        { host: '10.5.0.1', port: 7000 },
      ],
    });
  });

  it('finds a pod that moved on the next round', async () => {
    const discovery = new Discovery({
      dnsName: SERVICE,
      dnsServer: dns.address,
      defaultPort: GOSSIP_PORT,
      query: FAST,
    });
    expect((await discovery.discover()).peers).toHaveLength(3);
    dns.setPods(SERVICE, [...PODS.slice(0, 2), { name: 'shoal-2', ip: '10.1.0.99' }], GOSSIP_PORT);
    const hosts = (await discovery.discover()).peers.map((p) => p.host);
    expect(hosts).toEqual(['10.1.0.10', '10.1.0.11', '10.1.0.99']);
  });

  it('uses seeds alone when no DNS name is set, and says so', async () => {
    const discovery = new Discovery({ seeds: [{ host: '10.0.0.1' }], defaultPort: GOSSIP_PORT });
    expect(await discovery.discover()).toEqual({
      outcome: 'static',
      dnsError: undefined,
      seedFailures: [],
      peers: [{ host: '10.0.0.1', port: GOSSIP_PORT }],
    });
  });

  it('asks the first nameserver of resolv.conf, on port 53, when no server is configured', async () => {
    // resolv.conf cannot say a port, so this server must listen on 53: on a loopback address of
    // its own (127.0.0.0/8 is all local), picked at random so parallel runs do not collide.
    const onPort53 = await startOnPort53();
    try {
      onPort53.setPods(SERVICE, PODS, GOSSIP_PORT);
      const discovery = new Discovery({
        dnsName: SERVICE,
        nameservers: () => Promise.resolve([onPort53.host, dns.host]),
        defaultPort: GOSSIP_PORT,
        query: FAST,
      });
      const result = await discovery.discover();
      expect(result.outcome).toBe('srv');
      expect(result.peers).toHaveLength(3);
      expect(onPort53.queries.length).toBeGreaterThan(0);
    } finally {
      await onPort53.close();
    }
  });

  it('reports DNS_NO_SERVER when resolv.conf names no nameserver', async () => {
    const discovery = new Discovery({
      dnsName: SERVICE,
      seeds: [{ host: '10.0.0.1' }, { host: 'seed.example' }],
      nameservers: () => Promise.resolve([]),
      defaultPort: GOSSIP_PORT,
      query: FAST,
    });
    const result = await discovery.discover();
    expect(result.outcome).toBe('error');
    expect(result.dnsError?.code).toBe('DNS_NO_SERVER');
    expect(result.seedFailures.map((f) => f.error.code)).toEqual(['DNS_NO_SERVER']);
    expect(result.peers).toEqual([{ host: '10.0.0.1', port: GOSSIP_PORT }]);
  });

  it('reports a refusing server without losing the seeds', async () => {
    dns.behave({ rcode: 'REFUSED' });
    const discovery = new Discovery({
      dnsName: SERVICE,
      dnsServer: dns.address,
      seeds: [{ host: '10.0.0.1' }],
      defaultPort: GOSSIP_PORT,
      query: FAST,
    });
    const result = await discovery.discover();
    expect(result.outcome).toBe('error');
    expect(result.dnsError?.code).toBe('DNS_REFUSED');
    expect(result.peers).toEqual([{ host: '10.0.0.1', port: GOSSIP_PORT }]);
  });

  it('knows when there is nothing to discover from', () => {
    expect(new Discovery({ defaultPort: GOSSIP_PORT }).configured).toBe(false);
    expect(new Discovery({ defaultPort: GOSSIP_PORT, dnsName: SERVICE }).configured).toBe(true);
    expect(new Discovery({ defaultPort: GOSSIP_PORT, seeds: [{ host: 'a' }] }).configured).toBe(
      true,
    );
  });
});

describe('discovery schedule', () => {
  it('retries start-up a bounded number of times with doubling waits', () => {
    const delays: number[] = [];
    for (let attempts = 1; ; attempts++) {
      const delay = startupRetryDelayMs(attempts);
      if (delay === undefined) break;
      delays.push(delay);
    }
    expect(delays).toEqual([200, 400, 800, 1600]);
    expect(delays).toHaveLength(STARTUP_ATTEMPTS - 1);
  });

  it('re-resolves the Service every 15 s', () => {
    expect(REDISCOVER_INTERVAL_MS).toBe(15_000);
  });
});
