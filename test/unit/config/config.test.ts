import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS } from '../../../src/config.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

function load(env: Record<string, string>, argv: string[] = []) {
  return loadConfig({ argv, env });
}

function failure(env: Record<string, string>, argv: string[] = []): ConfigError {
  try {
    load(env, argv);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = load({ SHOAL_NODE_NAME: 'n1' });
    expect(config).toMatchObject({
      nodeName: 'n1',
      bindAddr: '0.0.0.0',
      httpPort: 8080,
      gossipPort: 7946,
      dataDir: './data',
      join: [],
      clusterName: 'shoal',
      gossipKeys: [],
      replicationFactor: 3,
      partitions: 256,
      writeConsistency: 'quorum',
      readConsistency: 'quorum',
      maxKeyBytes: 1024,
      maxValueBytes: 1_048_576,
      tombstoneGraceMs: 864_000_000,
      logLevel: 'info',
    });
  });

  it('lets a flag win over its variable', () => {
    const config = load({ SHOAL_HTTP_PORT: 'nonsense', SHOAL_NODE_NAME: 'env' }, [
      '--http-port',
      '9000',
      '--node-name=flag',
    ]);
    expect(config.httpPort).toBe(9000);
    expect(config.nodeName).toBe('flag');
  });

  it('advertises the bind address when it is a specific one', () => {
    expect(load({ SHOAL_BIND_ADDR: '127.0.0.12' }).advertiseAddr).toBe('127.0.0.12');
    expect(
      load({ SHOAL_BIND_ADDR: '127.0.0.12', SHOAL_ADVERTISE_ADDR: '10.0.0.5' }).advertiseAddr,
    ).toBe('10.0.0.5');
  });

  it('parses seeds, DNS settings and keys', () => {
    const config = load({
      SHOAL_JOIN: '10.0.0.1, node-2.example:7000,[::1]:7946',
      SHOAL_DISCOVERY_DNS: 'shoal-headless.default.svc.cluster.local.',
      SHOAL_DNS_SERVER: '127.0.0.53:5353',
      SHOAL_GOSSIP_KEYS: `${KEY_A},${KEY_B}`,
    });
    expect(config.join).toEqual([
      { host: '10.0.0.1', port: undefined },
      { host: 'node-2.example', port: 7000 },
      { host: '::1', port: 7946 },
    ]);
    expect(config.discoveryDns).toBe('shoal-headless.default.svc.cluster.local');
    expect(config.dnsServer).toEqual({ host: '127.0.0.53', port: 5353 });
    expect(config.gossipKeys.map((k) => k.toString('base64'))).toEqual([KEY_A, KEY_B]);
  });

  it('reads keys from SHOAL_GOSSIP_KEYS_FILE', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'shoal-keys-')), 'keys');
    writeFileSync(file, `${KEY_B}\n${KEY_A}\n`);
    expect(load({ SHOAL_GOSSIP_KEYS_FILE: file }).gossipKeys[0]?.toString('base64')).toBe(KEY_B);
    expect(failure({ SHOAL_GOSSIP_KEYS_FILE: `${file}.missing` }).variable).toBe(
      'SHOAL_GOSSIP_KEYS_FILE',
    );
  });

  it.each([
    ['SHOAL_HTTP_PORT', 'abc'],
    ['SHOAL_HTTP_PORT', '0'],
    ['SHOAL_GOSSIP_PORT', '65536'],
    ['SHOAL_BIND_ADDR', 'localhost'],
    ['SHOAL_ADVERTISE_ADDR', '0.0.0.0'],
    ['SHOAL_NODE_NAME', 'has space'],
    ['SHOAL_JOIN', 'host:notaport'],
    ['SHOAL_DISCOVERY_DNS', 'bad_name..local'],
    ['SHOAL_DNS_SERVER', 'dns.example'],
    ['SHOAL_CLUSTER_NAME', '!'],
    ['SHOAL_GOSSIP_KEYS', 'c2hvcnQ='],
    ['SHOAL_REPLICATION_FACTOR', '0'],
    ['SHOAL_PARTITIONS', '65537'],
    ['SHOAL_WRITE_CONSISTENCY', 'most'],
    ['SHOAL_READ_CONSISTENCY', 'two'],
    ['SHOAL_MAX_KEY_BYTES', '1901'],
    ['SHOAL_MAX_VALUE_BYTES', '-1'],
    // One peer frame (8 MiB) carries a record between nodes: values stay 64 KiB below it.
    ['SHOAL_MAX_VALUE_BYTES', String(8 * 1024 * 1024 - 64 * 1024 + 1)],
    ['SHOAL_TOMBSTONE_GRACE_SECONDS', '0'],
    ['SHOAL_TOMBSTONE_GRACE_SECONDS', '2h'],
    ['SHOAL_LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (variable, value) => {
    const err = failure({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`invalid ${variable}:`)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('takes a value limit up to what one peer frame carries', () => {
    const limit = 8 * 1024 * 1024 - 64 * 1024;
    expect(load({ SHOAL_MAX_VALUE_BYTES: String(limit) }).maxValueBytes).toBe(limit);
  });

  it('takes the tombstone grace period in seconds, from the variable or the flag', () => {
    expect(load({ SHOAL_TOMBSTONE_GRACE_SECONDS: '3600' }).tombstoneGraceMs).toBe(3_600_000);
    expect(load({}, ['--tombstone-grace-seconds', '5']).tombstoneGraceMs).toBe(5_000);
  });

  it('rejects unknown flags', () => {
    expect(failure({}, ['--nope', 'x']).message).toContain('--nope');
  });

  it('gives every setting a SHOAL_ variable', () => {
    for (const setting of Object.values(SETTINGS)) expect(setting.env).toMatch(/^SHOAL_[A-Z_]+$/);
  });
});
