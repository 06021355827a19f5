import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type QueryOptions } from '../../../src/cluster/discovery/dns-client.js';
import { resolvePeers } from '../../../src/cluster/discovery/peer-resolver.js';
import { startDnsServer, type TestDnsServer } from '../../support/dns-server.js';

const SERVICE = 'shoal-headless.default.svc.cluster.local';
/** The SRV port differs from the default so each test shows which one a peer came from. */
const SRV_PORT = 7946;
const DEFAULT_PORT = 7000;
const FAST: QueryOptions = { timeoutMs: 250, attempts: 2, backoffMs: 10, backoffMaxMs: 40 };

const PODS = [
  { name: 'shoal-0', ip: '10.1.0.10' },
  { name: 'shoal-1', ip: '10.1.0.9' },
  { name: 'shoal-2', ip: '10.1.0.11' },
];

describe('peer resolver', () => {
  let dns: TestDnsServer;
  const resolve = (name = SERVICE) =>
    resolvePeers({ name, server: dns.address, defaultPort: DEFAULT_PORT, query: FAST });

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });
  beforeEach(() => {
    dns.behave({ rcode: undefined, dropUdp: 0, srvAdditionals: true, truncateUdp: false });
    dns.setPods(SERVICE, PODS, SRV_PORT);
    dns.clearQueries();
  });

  it('takes peers from SRV and the additional section, in one query, sorted', async () => {
    const lookup = await resolve();
    expect(lookup).toEqual({
      outcome: 'srv',
      error: undefined,
      peers: [
        { host: '10.1.0.9', port: SRV_PORT },
        { host: '10.1.0.10', port: SRV_PORT },
        { host: '10.1.0.11', port: SRV_PORT },
      ],
    });
    expect(dns.queries.map((q) => `${q.type} ${q.name}`)).toEqual([`SRV _gossip._udp.${SERVICE}`]);
  });

  it('looks up SRV targets itself when the answer has no additional records', async () => {
    dns.behave({ srvAdditionals: false });
    const lookup = await resolve();
    expect(lookup.outcome).toBe('srv');
    expect(lookup.peers.map((p) => p.host)).toEqual(['10.1.0.9', '10.1.0.10', '10.1.0.11']);
    const followUps = dns.queries.filter((q) => q.type === 'A').map((q) => q.name);
    expect(followUps.sort()).toEqual(PODS.map((p) => `${p.name}.${SERVICE}`).sort());
  });

  it('falls back to A records of the Service, with the default port, when there is no SRV', async () => {
    dns.setPods(SERVICE, PODS, SRV_PORT, { srv: false });
    const lookup = await resolve();
    expect(lookup.outcome).toBe('a');
    expect(lookup.peers).toEqual([
      { host: '10.1.0.9', port: DEFAULT_PORT },
      { host: '10.1.0.10', port: DEFAULT_PORT },
      { host: '10.1.0.11', port: DEFAULT_PORT },
    ]);
  });

  it('uses AAAA records when the Service has no IPv4 address', async () => {
    const v6 = 'shoal-v6.default.svc.cluster.local';
    dns.setPods(
      v6,
      [
        { name: 'shoal-0', ip: 'fd00:0:0::a' },
        { name: 'shoal-1', ip: 'fd00::b' },
      ],
      SRV_PORT,
      {
        srv: false,
      },
    );
    const lookup = await resolve(v6);
    expect(lookup.outcome).toBe('aaaa');
    expect(lookup.peers).toEqual([
      { host: 'fd00::a', port: DEFAULT_PORT },
      { host: 'fd00::b', port: DEFAULT_PORT },
    ]);
  });

  it('takes IPv6 pod addresses from SRV additionals', async () => {
    const v6 = 'shoal-v6.default.svc.cluster.local';
    dns.setPods(v6, [{ name: 'shoal-0', ip: 'fd00::a' }], SRV_PORT);
    const lookup = await resolve(v6);
    expect(lookup).toMatchObject({ outcome: 'srv', peers: [{ host: 'fd00::a', port: SRV_PORT }] });
  });

  it('reports empty, not an error, for a Service that does not exist', async () => {
    const lookup = await resolve('missing.default.svc.cluster.local');
    expect(lookup).toEqual({ outcome: 'empty', peers: [], error: undefined });
  });

  it('reports empty when the last pod is gone', async () => {
    dns.setPods(SERVICE, [], SRV_PORT);
    const lookup = await resolve();
    expect(lookup).toEqual({ outcome: 'empty', peers: [], error: undefined });
  });

  it('reports error with the DnsError when the server refuses', async () => {
    dns.behave({ rcode: 'REFUSED' });
    const lookup = await resolve();
    expect(lookup.outcome).toBe('error');
    expect(lookup.peers).toEqual([]);
    expect(lookup.error?.code).toBe('DNS_REFUSED');
  });

  it('reports error when the server does not answer', async () => {
    dns.behave({ dropUdp: Infinity });
    const lookup = await resolve();
    expect(lookup.outcome).toBe('error');
    expect(lookup.error?.code).toBe('DNS_TIMEOUT');
    // Not asked again for A records: an unreachable server is reported once.
    expect(new Set(dns.queries.map((q) => q.type))).toEqual(new Set(['SRV']));
  });

  it('sees a pod that moved to a new IP on the next lookup', async () => {
    const before = await resolve();
    expect(before.peers.map((p) => p.host)).toContain('10.1.0.9');
    dns.setPods(
      SERVICE,
      [
        { name: 'shoal-0', ip: '10.1.0.10' },
        { name: 'shoal-1', ip: '10.1.0.42' },
        { name: 'shoal-2', ip: '10.1.0.11' },
      ],
      SRV_PORT,
    );
    const after = await resolve();
    expect(after.peers.map((p) => p.host)).toEqual(['10.1.0.10', '10.1.0.11', '10.1.0.42']);
  });

  it('sees pods added and removed', async () => {
    dns.setPods(SERVICE, [...PODS, { name: 'shoal-3', ip: '10.1.0.12' }], SRV_PORT);
    expect((await resolve()).peers).toHaveLength(4);
    dns.setPods(SERVICE, PODS.slice(0, 1), SRV_PORT);
    expect((await resolve()).peers).toEqual([{ host: '10.1.0.10', port: SRV_PORT }]);
  });

  it('lists an address once even when several SRV records lead to it', async () => {
    dns.addRecord({
      type: 'SRV',
      name: `_gossip._udp.${SERVICE}`,
      target: `shoal-0.${SERVICE}`,
      port: SRV_PORT,
    });
    dns.addRecord({ type: 'A', name: `alias.${SERVICE}`, address: '10.1.0.10' });
    dns.addRecord({
      type: 'SRV',
      name: `_gossip._udp.${SERVICE}`,
      target: `alias.${SERVICE}`,
      port: SRV_PORT,
    });
    const lookup = await resolve();
    expect(lookup.peers).toHaveLength(3);
  });

  it('keeps the peers it found when one target cannot be looked up', async () => {
    dns.behave({ srvAdditionals: false });
    dns.addRecord({
      type: 'SRV',
      name: `_gossip._udp.${SERVICE}`,
      target: `ghost.${SERVICE}`,
      port: SRV_PORT,
    });
    const lookup = await resolve();
    expect(lookup.outcome).toBe('srv');
    expect(lookup.peers).toHaveLength(3);
  });

  it('follows a CNAME from a target to its address', async () => {
    dns.behave({ srvAdditionals: false });
    const svc = 'aliased.default.svc.cluster.local';
    dns.addRecord({
      type: 'SRV',
      name: `_gossip._udp.${svc}`,
      target: `pod.${svc}`,
      port: SRV_PORT,
    });
    dns.addRecord({ type: 'CNAME', name: `pod.${svc}`, target: `real.${svc}` });
    dns.addRecord({ type: 'A', name: `real.${svc}`, address: '10.9.9.9' });
    const lookup = await resolve(svc);
    expect(lookup).toMatchObject({ outcome: 'srv', peers: [{ host: '10.9.9.9', port: SRV_PORT }] });
  });

  it('reports a bad Service name as an error outcome, not an exception', async () => {
    const lookup = await resolve('bad..name');
    expect(lookup.outcome).toBe('error');
    expect(lookup.error?.code).toBe('DNS_BAD_NAME');
  });
});
