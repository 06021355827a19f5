import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedError } from '../../../src/cluster/discovery/seed-error.js';
import { parseSeed, parseSeeds, resolveSeeds } from '../../../src/cluster/discovery/seeds.js';
import { startDnsServer, type TestDnsServer } from '../../support/dns-server.js';

const PORT = 7946;
const FAST = { timeoutMs: 250, attempts: 2, backoffMs: 10, backoffMaxMs: 40 };

function seedError(text: string): SeedError {
  try {
    parseSeed(text, PORT);
  } catch (err) {
    if (err instanceof SeedError) return err;
    throw err;
  }
  throw new Error(`expected "${text}" to be rejected`);
}

describe('seed parsing', () => {
  it.each([
    ['10.0.0.1', { host: '10.0.0.1', port: PORT }],
    ['10.0.0.1:7000', { host: '10.0.0.1', port: 7000 }],
    ['shoal-0.shoal-headless', { host: 'shoal-0.shoal-headless', port: PORT }],
    ['Shoal-0.Example.COM:8000', { host: 'shoal-0.example.com', port: 8000 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['[fd00::1]:7000', { host: 'fd00::1', port: 7000 }],
    ['[fd00::1]', { host: 'fd00::1', port: PORT }],
    ['fd00::1', { host: 'fd00::1', port: PORT }],
    ['::1:7946', { host: '::1:7946', port: PORT }],
    ['[FD00:0:0::1]:1', { host: 'fd00::1', port: 1 }],
    ['  10.0.0.1:7000  ', { host: '10.0.0.1', port: 7000 }],
  ])('reads %j', (text, expected) => {
    expect(parseSeed(text, PORT)).toEqual(expected);
  });

  it('reads a SHOAL_JOIN list, skipping empty entries', () => {
    expect(parseSeeds('10.0.0.1, shoal-1:7000,,[::1]:7001,', PORT)).toEqual([
      { host: '10.0.0.1', port: PORT },
      { host: 'shoal-1', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(parseSeeds('', PORT)).toEqual([]);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    [':7000', 'bad_host'],
    ['bad_host:7000', 'bad_host'],
    ['-leading.example', 'bad_host'],
    ['999.0.0.1', 'bad_host'],
    ['10.1', 'bad_host'],
    ['host name', 'bad_host'],
    [`${'a'.repeat(64)}.example`, 'bad_host'],
    ['10.0.0.1:', 'bad_port'],
    ['10.0.0.1:0', 'bad_port'],
    ['10.0.0.1:65536', 'bad_port'],
    ['10.0.0.1:http', 'bad_port'],
    ['10.0.0.1:-1', 'bad_port'],
    ['[fd00::1]:99999', 'bad_port'],
    ['[fd00::1', 'bad_ipv6'],
    ['[10.0.0.1]:7000', 'bad_ipv6'],
    ['[fd00::1]x', 'bad_ipv6'],
    ['fd00::1::2', 'bad_ipv6'],
    ['a:b:c', 'bad_ipv6'],
  ])('rejects %j as %s, naming the entry', (text, reason) => {
    const err = seedError(text);
    expect(err.code).toBe('BAD_SEED');
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(`"${text.trim() === '' ? text : text.trim()}"`);
  });

  it('names the bad entry of a list', () => {
    expect(() => parseSeeds('10.0.0.1,10.0.0.2:x,10.0.0.3', PORT)).toThrow(/"10\.0\.0\.2:x"/);
  });
});

describe('seed resolution', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer();
    dns.addRecord({ type: 'A', name: 'seed-a.example', address: '10.3.0.1' });
    dns.addRecord({ type: 'A', name: 'seed-a.example', address: '10.3.0.2' });
    dns.addRecord({ type: 'AAAA', name: 'seed-v6.example', address: 'fd00::3' });
    dns.addRecord({ type: 'CNAME', name: 'seed-alias.example', target: 'seed-a.example' });
  });
  afterAll(async () => {
    await dns.close();
  });

  it('keeps IP literals and looks up names (A, else AAAA, through CNAMEs)', async () => {
    const result = await resolveSeeds(
      [
        { host: '10.0.0.9' },
        { host: 'seed-a.example', port: 7000 },
        { host: 'seed-v6.example' },
        { host: 'seed-alias.example', port: 7000 },
        { host: 'localhost', port: 7001 },
      ],
      { defaultPort: PORT, server: dns.address, query: FAST },
    );
    expect(result.failures).toEqual([]);
    expect(result.peers).toEqual([
      { host: '10.0.0.9', port: PORT },
      { host: '10.3.0.1', port: 7000 },
      { host: '10.3.0.2', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
      { host: 'fd00::3', port: PORT },
    ]);
  });

  it('reports a seed that does not resolve and keeps the others', async () => {
    const result = await resolveSeeds([{ host: 'nobody.example' }, { host: '10.0.0.9' }], {
      defaultPort: PORT,
      server: dns.address,
      query: FAST,
    });
    expect(result.peers).toEqual([{ host: '10.0.0.9', port: PORT }]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.seed).toBe('nobody.example:7946');
    expect(result.failures[0]?.error.code).toBe('DNS_NO_ADDRESS');
  });

  it('reports a name seed as unresolvable when there is no DNS server', async () => {
    const result = await resolveSeeds([{ host: 'seed-a.example' }, { host: 'fd00::9', port: 1 }], {
      defaultPort: PORT,
      server: undefined,
    });
    expect(result.peers).toEqual([{ host: 'fd00::9', port: 1 }]);
    expect(result.failures.map((f) => f.error.code)).toEqual(['DNS_NO_SERVER']);
  });
});
