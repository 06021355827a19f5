import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { query, type QueryOptions } from '../../../src/cluster/discovery/dns-client.js';
import { DnsError } from '../../../src/cluster/discovery/dns-error.js';
import {
  SPOOFED_IPV4,
  SPOOFED_TARGET,
  startDnsServer,
  type TestDnsServer,
} from '../../support/dns-server.js';

const SERVICE = 'shoal-headless.default.svc.cluster.local';
const SRV_NAME = `_gossip._udp.${SERVICE}`;
const GOSSIP_PORT = 7946;
/** Short waits so failure paths finish quickly; retries and backoff keep their shape. */
const FAST: QueryOptions = { timeoutMs: 250, attempts: 3, backoffMs: 10, backoffMaxMs: 40 };

const PODS = [
  { name: 'shoal-0', ip: '10.1.0.10' },
  { name: 'shoal-1', ip: '10.1.0.11' },
  { name: 'shoal-2', ip: '10.1.0.12' },
];

async function failure(promise: Promise<unknown>): Promise<DnsError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DnsError) return err;
    throw err;
  }
  throw new Error('expected a DnsError');
}

/** Open sockets of this process, by kind: the client must leave none behind. */
function socketHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind === 'UDPWrap' || kind === 'TCPSocketWrap').length;
}

describe('DNS client', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });
  beforeEach(() => {
    dns.behave({
      truncateUdp: false,
      rcode: undefined,
      dropUdp: 0,
      spoofFirst: undefined,
      garbage: false,
      srvAdditionals: true,
    });
    dns.setPods(SERVICE, PODS, GOSSIP_PORT);
    dns.clearQueries();
  });

  it('reads A records over UDP', async () => {
    const response = await query(dns.address, SERVICE, 'A', FAST);
    expect(response.rcode).toBe('NOERROR');
    expect(response.transport).toBe('udp');
    expect(response.answers.map((r) => (r.type === 'A' ? r.address : r.type)).sort()).toEqual([
      '10.1.0.10',
      '10.1.0.11',
      '10.1.0.12',
    ]);
    expect(dns.queries).toEqual([{ name: SERVICE, type: 'A', transport: 'udp' }]);
  });

  it('reads AAAA records', async () => {
    dns.setPods('v6.default.svc.cluster.local', [{ name: 'p', ip: 'fd00::7' }], GOSSIP_PORT);
    const response = await query(dns.address, 'v6.default.svc.cluster.local', 'AAAA', FAST);
    expect(response.answers).toEqual([
      { type: 'AAAA', name: 'v6.default.svc.cluster.local', ttl: 5, address: 'fd00::7' },
    ]);
  });

  it('reads SRV records with their targets in the additional section', async () => {
    const response = await query(dns.address, SRV_NAME, 'SRV', FAST);
    const targets = response.answers.map((r) => (r.type === 'SRV' ? `${r.target}:${r.port}` : ''));
    expect(targets.sort()).toEqual([
      `shoal-0.${SERVICE}:7946`,
      `shoal-1.${SERVICE}:7946`,
      `shoal-2.${SERVICE}:7946`,
    ]);
    expect(response.additionals).toContainEqual({
      type: 'A',
      name: `shoal-1.${SERVICE}`,
      ttl: 5,
      address: '10.1.0.11',
    });
  });

  it('compares names without regard to case or a trailing dot', async () => {
    const response = await query(dns.address, `${SERVICE.toUpperCase()}.`, 'A', FAST);
    expect(response.answers).toHaveLength(3);
  });

  it('answers NXDOMAIN with an empty result, not an error', async () => {
    const response = await query(dns.address, 'nothing.default.svc.cluster.local', 'A', FAST);
    expect(response).toMatchObject({ rcode: 'NXDOMAIN', answers: [], additionals: [] });
  });

  it('answers a name without records of the type with an empty NOERROR result', async () => {
    const response = await query(dns.address, SERVICE, 'AAAA', FAST);
    expect(response).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('repeats a truncated UDP answer over TCP and gets it whole', async () => {
    dns.behave({ truncateUdp: true });
    const response = await query(dns.address, SRV_NAME, 'SRV', FAST);
    expect(response.transport).toBe('tcp');
    expect(response.answers).toHaveLength(3);
    expect(response.additionals).toHaveLength(3);
    expect(dns.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('gets an answer too big for a datagram (60 pods) over TCP', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      name: `shoal-${i}`,
      ip: `10.2.${Math.floor(i / 200)}.${(i % 200) + 1}`,
    }));
    dns.setPods(SERVICE, many, GOSSIP_PORT);
    const response = await query(dns.address, SRV_NAME, 'SRV', FAST);
    expect(response.transport).toBe('tcp');
    expect(response.answers).toHaveLength(60);
    expect(response.additionals).toHaveLength(60);
  });

  it('retries a lost query and succeeds', async () => {
    dns.behave({ dropUdp: 2 });
    const response = await query(dns.address, SERVICE, 'A', FAST);
    expect(response.attempts).toBe(3);
    expect(response.answers).toHaveLength(3);
    expect(dns.queries).toHaveLength(3);
  });

  it('gives up with DNS_TIMEOUT after the configured number of attempts', async () => {
    dns.behave({ dropUdp: Infinity });
    const err = await failure(query(dns.address, SERVICE, 'A', { ...FAST, attempts: 4 }));
    expect(err.code).toBe('DNS_TIMEOUT');
    expect(err.message).toContain('after 4 attempts');
    expect(dns.queries).toHaveLength(4);
  });

  it('raises DNS_REFUSED at once for REFUSED: asking again would not help', async () => {
    dns.behave({ rcode: 'REFUSED' });
    const err = await failure(query(dns.address, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_REFUSED');
    expect(dns.queries).toHaveLength(1);
  });

  it('retries SERVFAIL, then raises DNS_SERVFAIL', async () => {
    dns.behave({ rcode: 'SERVFAIL' });
    const err = await failure(query(dns.address, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_SERVFAIL');
    expect(dns.queries).toHaveLength(3);
  });

  it('raises DNS_RCODE for another failure rcode', async () => {
    dns.behave({ rcode: 'NOTIMP' });
    const err = await failure(query(dns.address, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_RCODE');
  });

  it('ignores a reply with another id and takes the real answer', async () => {
    dns.behave({ spoofFirst: 'id' });
    const response = await query(dns.address, SERVICE, 'A', FAST);
    expect(response.ignoredReplies).toBe(1);
    const addresses = response.answers.map((r) => (r.type === 'A' ? r.address : ''));
    expect(addresses).not.toContain(SPOOFED_IPV4);
    expect(addresses).toHaveLength(3);
  });

  it('ignores a reply with our id but another question', async () => {
    dns.behave({ spoofFirst: 'question' });
    const response = await query(dns.address, SRV_NAME, 'SRV', FAST);
    expect(response.ignoredReplies).toBe(1);
    const targets = response.answers.map((r) => (r.type === 'SRV' ? r.target : ''));
    expect(targets).not.toContain(SPOOFED_TARGET);
    expect(targets).toHaveLength(3);
  });

  it('raises DNS_MALFORMED at once for an answer that does not decode', async () => {
    dns.behave({ garbage: true });
    const err = await failure(query(dns.address, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_MALFORMED');
    expect(dns.queries).toHaveLength(1);
  });

  it('raises DNS_MALFORMED for an undecodable answer over TCP after truncation', async () => {
    dns.behave({ truncateUdp: true, garbage: 'tcp' });
    const err = await failure(query(dns.address, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_MALFORMED');
    expect(dns.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('rejects a name that is not a DNS name before sending anything', async () => {
    const err = await failure(query(dns.address, `${'a'.repeat(64)}.example`, 'A', FAST));
    expect(err.code).toBe('DNS_BAD_NAME');
    const empty = await failure(query(dns.address, 'a..b', 'A', FAST));
    expect(empty.code).toBe('DNS_BAD_NAME');
    expect(dns.queries).toHaveLength(0);
  });

  it('rejects a server that is not an IP address', async () => {
    const err = await failure(query({ host: 'dns.example', port: 53 }, SERVICE, 'A', FAST));
    expect(err.code).toBe('DNS_BAD_SERVER');
  });

  it('reports a server with nothing listening as a DnsError', async () => {
    const closed = await startDnsServer();
    const address = closed.address;
    await closed.close();
    const err = await failure(query(address, SERVICE, 'A', FAST));
    // Loopback reports the closed port (ICMP port unreachable) on the connected socket.
    expect(err.code).toBe('DNS_NETWORK');
  });

  it('closes every socket it opened, on success and on failure', async () => {
    const before = socketHandles();
    await query(dns.address, SERVICE, 'A', FAST);
    dns.behave({ truncateUdp: true });
    await query(dns.address, SERVICE, 'A', FAST);
    dns.behave({ truncateUdp: false, dropUdp: Infinity });
    await failure(query(dns.address, SERVICE, 'A', { ...FAST, attempts: 2 }));
    dns.behave({ dropUdp: 0, garbage: true });
    await failure(query(dns.address, SERVICE, 'A', FAST));
    // A destroyed TCP socket is released on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(socketHandles()).toBe(before);
  });
});
