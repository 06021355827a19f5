// Discovery against a real DNS server we did not write: dnsmasq serving a headless Service the
// way cluster DNS does (SRV `_gossip._udp.<svc>` -> `<pod>.<svc>`, A records for pods and Service).

import { randomInt } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Discovery } from '../../src/cluster/discovery/discovery.js';
import { query } from '../../src/cluster/discovery/dns-client.js';
import { resolvePeers } from '../../src/cluster/discovery/peer-resolver.js';
import { headlessServiceRecords, startDnsmasq, type Dnsmasq } from '../support/dnsmasq.js';

const SERVICE = 'shoal-headless.default.svc.cluster.local';
const GOSSIP_PORT = 7946;
const DEFAULT_PORT = 7000;
const FAST = { timeoutMs: 500, attempts: 2, backoffMs: 20, backoffMaxMs: 80 };
const PODS = [
  { name: 'shoal-0', ip: '127.0.0.11' },
  { name: 'shoal-1', ip: '127.0.0.12' },
  { name: 'shoal-2', ip: '127.0.0.13' },
];
/** A loopback address of its own, as a cluster DNS Service IP would be. */
const LISTEN = `127.0.54.${randomInt(2, 255)}`;

describe('discovery through dnsmasq', () => {
  let dnsmasq: Dnsmasq | undefined;

  afterEach(async () => {
    await dnsmasq?.stop();
    dnsmasq = undefined;
  });

  it('finds 3 pods by SRV, with the port from the SRV record', async () => {
    dnsmasq = await startDnsmasq({
      listenAddress: LISTEN,
      ...headlessServiceRecords(SERVICE, PODS, GOSSIP_PORT),
    });
    const lookup = await resolvePeers({
      name: SERVICE,
      server: dnsmasq.address,
      defaultPort: DEFAULT_PORT,
      query: FAST,
    });
    expect(lookup, dnsmasq.log()).toEqual({
      outcome: 'srv',
      error: undefined,
      peers: PODS.map((pod) => ({ host: pod.ip, port: GOSSIP_PORT })),
    });
  });

  it('answers the Service name with every pod A record', async () => {
    dnsmasq = await startDnsmasq({
      listenAddress: LISTEN,
      ...headlessServiceRecords(SERVICE, PODS, GOSSIP_PORT),
    });
    const response = await query(dnsmasq.address, SERVICE, 'A', FAST);
    const addresses = response.answers.map((r) => (r.type === 'A' ? r.address : ''));
    expect(addresses.sort()).toEqual(PODS.map((p) => p.ip));
  });

  it('falls back to A records for a Service without a gossip SRV record', async () => {
    const { hostRecords } = headlessServiceRecords(SERVICE, PODS, GOSSIP_PORT);
    dnsmasq = await startDnsmasq({ listenAddress: LISTEN, hostRecords });
    const lookup = await resolvePeers({
      name: SERVICE,
      server: dnsmasq.address,
      defaultPort: DEFAULT_PORT,
      query: FAST,
    });
    expect(lookup.outcome, dnsmasq.log()).toBe('a');
    expect(lookup.peers).toEqual(PODS.map((pod) => ({ host: pod.ip, port: DEFAULT_PORT })));
  });

  it('reports empty for an unknown Service and error for a name outside its domain', async () => {
    dnsmasq = await startDnsmasq({
      listenAddress: LISTEN,
      ...headlessServiceRecords(SERVICE, PODS, GOSSIP_PORT),
    });
    const unknown = await resolvePeers({
      name: 'other.default.svc.cluster.local',
      server: dnsmasq.address,
      defaultPort: DEFAULT_PORT,
      query: FAST,
    });
    expect(unknown).toEqual({ outcome: 'empty', peers: [], error: undefined });
    const outside = await resolvePeers({
      name: 'shoal.example.com',
      server: dnsmasq.address,
      defaultPort: DEFAULT_PORT,
      query: FAST,
    });
    expect(outside.outcome).toBe('error');
    expect(outside.error?.code).toBe('DNS_REFUSED');
  });

  it('sees a restarted pod at its new IP, leaving out this node itself', async () => {
    dnsmasq = await startDnsmasq({
      listenAddress: LISTEN,
      ...headlessServiceRecords(SERVICE, PODS, GOSSIP_PORT),
    });
    const discovery = new Discovery({
      dnsName: SERVICE,
      dnsServer: dnsmasq.address,
      defaultPort: GOSSIP_PORT,
      self: { host: '127.0.0.11', port: GOSSIP_PORT },
      query: FAST,
    });
    const before = await discovery.discover();
    expect(before.peers.map((p) => p.host)).toEqual(['127.0.0.12', '127.0.0.13']);

    // shoal-2 comes back with another IP: cluster DNS now serves the new records.
    const { port } = dnsmasq;
    await dnsmasq.stop();
    const moved = [...PODS.slice(0, 2), { name: 'shoal-2', ip: '127.0.0.23' }];
    dnsmasq = await startDnsmasq({
      listenAddress: LISTEN,
      port,
      ...headlessServiceRecords(SERVICE, moved, GOSSIP_PORT),
    });
    const after = await discovery.discover();
    expect(after.outcome).toBe('srv');
    expect(after.peers.map((p) => p.host)).toEqual(['127.0.0.12', '127.0.0.23']);
  });
});
