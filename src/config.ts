// Environment variables and `shoal serve` flags -> one validated, typed Config (CONTRACT.md).
// A flag wins over its variable. Any bad value raises ConfigError naming the variable; the CLI
// prints that one line and exits with code 2.

import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { STREAM_FRAME_BYTES_MAX } from './cluster/wire/limits.js';

export type Consistency = 'one' | 'quorum' | 'all';
export const CONSISTENCY_LEVELS: readonly Consistency[] = ['one', 'quorum', 'all'];

export interface HostPort {
  host: string;
  port: number | undefined;
}

export interface Config {
  nodeName: string;
  bindAddr: string;
  advertiseAddr: string;
  httpPort: number;
  gossipPort: number;
  dataDir: string;
  join: HostPort[];
  discoveryDns: string | undefined;
  dnsServer: HostPort | undefined;
  clusterName: string;
  /** Raw 32-byte AES-256 keys, primary first; empty means plaintext gossip. */
  gossipKeys: Buffer[];
  replicationFactor: number;
  partitions: number;
  writeConsistency: Consistency;
  readConsistency: Consistency;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** How long a tombstone is kept before it may be purged (once every replica holds it). */
  tombstoneGraceMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  readonly code = 'BAD_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Upper bound on partitions: partition ids are stored as 16-bit numbers in the key layout. */
export const PARTITIONS_MAX = 65_536;
export const REPLICATION_FACTOR_MAX = 15;
/**
 * LMDB keys are at most 1978 bytes: the store's indexes add at most 6 bytes to a key (the expiry
 * index), and hints check their own length (hint-store.ts).
 */
export const KEY_BYTES_LIMIT_MAX = 1900;
/**
 * A record travels between nodes in one peer frame (8 MiB), with its key, content type and
 * framing: values stay 64 KiB below that, or no replica but the coordinator could take them.
 */
export const VALUE_BYTES_LIMIT_MAX = STREAM_FRAME_BYTES_MAX - 64 * 1024;
/** Default tombstone grace: 10 days, as Cassandra's gc_grace_seconds, longer than any outage. */
export const TOMBSTONE_GRACE_SECONDS_DEFAULT = 864_000;
/** Ten years; longer is as good as never. */
const TOMBSTONE_GRACE_SECONDS_MAX = 315_360_000;
export const NODE_NAME_BYTES_MAX = 255;
const CLUSTER_NAME_BYTES_MAX = 255;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface Setting {
  env: string;
  flag?: string;
  help: string;
}

/** Every setting, in the order `shoal serve --help` lists them. */
export const SETTINGS = {
  nodeName: {
    env: 'SHOAL_NODE_NAME',
    flag: 'node-name',
    help: 'unique member name (default: hostname)',
  },
  bindAddr: {
    env: 'SHOAL_BIND_ADDR',
    flag: 'bind-addr',
    help: 'address the HTTP and gossip sockets bind (default 0.0.0.0)',
  },
  advertiseAddr: {
    env: 'SHOAL_ADVERTISE_ADDR',
    flag: 'advertise-addr',
    help: 'address peers use (default: bind addr, else first non-internal IPv4)',
  },
  httpPort: {
    env: 'SHOAL_HTTP_PORT',
    flag: 'http-port',
    help: 'REST API, probes and metrics port (default 8080)',
  },
  gossipPort: {
    env: 'SHOAL_GOSSIP_PORT',
    flag: 'gossip-port',
    help: 'UDP gossip and TCP peer port (default 7946)',
  },
  dataDir: {
    env: 'SHOAL_DATA_DIR',
    flag: 'data-dir',
    help: 'durable store directory (default ./data)',
  },
  join: { env: 'SHOAL_JOIN', flag: 'join', help: 'comma-separated host[:port] seeds' },
  discoveryDns: {
    env: 'SHOAL_DISCOVERY_DNS',
    flag: 'discovery-dns',
    help: 'headless Service name to resolve for peers',
  },
  dnsServer: {
    env: 'SHOAL_DNS_SERVER',
    flag: 'dns-server',
    help: 'host[:port] of the DNS resolver (default: /etc/resolv.conf)',
  },
  clusterName: {
    env: 'SHOAL_CLUSTER_NAME',
    flag: 'cluster-name',
    help: 'cluster label on every peer packet (default shoal)',
  },
  gossipKeys: {
    env: 'SHOAL_GOSSIP_KEYS',
    flag: 'gossip-keys',
    help: 'comma-separated base64 AES-256 keys, first is primary',
  },
  gossipKeysFile: {
    env: 'SHOAL_GOSSIP_KEYS_FILE',
    help: 'file holding the gossip keys (comma or newline separated)',
  },
  replicationFactor: {
    env: 'SHOAL_REPLICATION_FACTOR',
    flag: 'replication-factor',
    help: 'copies of each key (default 3)',
  },
  partitions: {
    env: 'SHOAL_PARTITIONS',
    flag: 'partitions',
    help: 'fixed partition count (default 256)',
  },
  writeConsistency: {
    env: 'SHOAL_WRITE_CONSISTENCY',
    help: 'default write consistency: one, quorum, all',
  },
  readConsistency: {
    env: 'SHOAL_READ_CONSISTENCY',
    help: 'default read consistency: one, quorum, all',
  },
  maxKeyBytes: { env: 'SHOAL_MAX_KEY_BYTES', help: 'largest key in bytes (default 1024)' },
  maxValueBytes: { env: 'SHOAL_MAX_VALUE_BYTES', help: 'largest value in bytes (default 1048576)' },
  tombstoneGraceSeconds: {
    env: 'SHOAL_TOMBSTONE_GRACE_SECONDS',
    flag: 'tombstone-grace-seconds',
    help: 'keep deletes this long before purging them (default 864000)',
  },
  logLevel: { env: 'SHOAL_LOG_LEVEL', flag: 'log-level', help: 'pino log level (default info)' },
} satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

export function serveHelp(): string {
  const lines = [
    'Usage: shoal serve [flags]',
    '',
    'Every flag has an environment variable; the flag wins.',
    '',
  ];
  for (const setting of Object.values(SETTINGS) as Setting[]) {
    const flag = setting.flag ? `--${setting.flag} <value>` : '';
    lines.push(`  ${flag.padEnd(32)}${setting.env.padEnd(28)}${setting.help}`);
  }
  lines.push(`  ${'--help'.padEnd(60)}show this help`);
  return lines.join('\n');
}

export interface ConfigSources {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** Reads the raw string of every setting, flags over env. Unknown flags are a ConfigError. */
function rawValues(sources: ConfigSources): Partial<Record<SettingName, string>> {
  const options: Record<string, { type: 'string' }> = {};
  for (const setting of Object.values(SETTINGS) as Setting[]) {
    if (setting.flag) options[setting.flag] = { type: 'string' };
  }
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: sources.argv,
      options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError('flags', (err as Error).message);
  }
  const raw: Partial<Record<SettingName, string>> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    const fromFlag = setting.flag ? flags[setting.flag] : undefined;
    const value = typeof fromFlag === 'string' ? fromFlag : sources.env[setting.env];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  return raw;
}

function integer(variable: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()))
    throw new ConfigError(variable, `"${text}" is not a whole number`);
  const n = Number(text.trim());
  if (n < min || n > max) throw new ConfigError(variable, `${n} is outside ${min}..${max}`);
  return n;
}

function port(variable: string, text: string): number {
  return integer(variable, text, 1, 65_535);
}

function ipAddress(variable: string, text: string): string {
  if (isIP(text) === 0) throw new ConfigError(variable, `"${text}" is not an IPv4 or IPv6 address`);
  return text;
}

/** Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function parseHostPort(variable: string, text: string): HostPort {
  const entry = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    const host = ipAddress(variable, bracketed[1] ?? '');
    return { host, port: bracketed[2] === undefined ? undefined : port(variable, bracketed[2]) };
  }
  if (isIP(entry) === 6) return { host: entry, port: undefined };
  const match = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(entry);
  if (!match || !match[1]) throw new ConfigError(variable, `"${entry}" is not host[:port]`);
  return { host: match[1], port: match[2] === undefined ? undefined : port(variable, match[2]) };
}

function consistency(variable: string, text: string): Consistency {
  const level = text.trim().toLowerCase();
  if (!(CONSISTENCY_LEVELS as string[]).includes(level)) {
    throw new ConfigError(variable, `"${text}" is not one of ${CONSISTENCY_LEVELS.join(', ')}`);
  }
  return level as Consistency;
}

function name(variable: string, text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) > maxBytes)
    throw new ConfigError(variable, `longer than ${maxBytes} bytes`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(text)) {
    throw new ConfigError(variable, `"${text}" may hold only letters, digits, '.', '_' and '-'`);
  }
  return text;
}

function gossipKeys(variable: string, text: string): Buffer[] {
  const entries = text.split(/[\s,]+/).filter((k) => k.length > 0);
  if (entries.length === 0) throw new ConfigError(variable, 'no keys given');
  return entries.map((entry, i) => {
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(entry)
      ? Buffer.from(entry, 'base64')
      : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new ConfigError(variable, `key ${i + 1} is not base64 of 32 bytes (AES-256)`);
    }
    return key;
  });
}

function firstExternalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

function isUnspecified(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::';
}

/**
 * The address peer connections leave from: the bind address when it names one, as gossip packets
 * do, so a peer (or a firewall rule written for member addresses) sees one address per member.
 * Bound to every interface (0.0.0.0, ::), the kernel chooses.
 */
export function connectionSource(bindAddr: string): string | undefined {
  return isUnspecified(bindAddr) ? undefined : bindAddr;
}

/** Builds the Config from flags and environment; throws ConfigError on the first bad value. */
export function loadConfig(sources: ConfigSources): Config {
  const raw = rawValues(sources);
  const s = SETTINGS;

  const bindAddr = raw.bindAddr === undefined ? '0.0.0.0' : ipAddress(s.bindAddr.env, raw.bindAddr);
  const advertiseAddr =
    raw.advertiseAddr !== undefined
      ? ipAddress(s.advertiseAddr.env, raw.advertiseAddr)
      : isUnspecified(bindAddr)
        ? (firstExternalIPv4() ?? '127.0.0.1')
        : bindAddr;
  if (isUnspecified(advertiseAddr)) {
    throw new ConfigError(s.advertiseAddr.env, `"${advertiseAddr}" cannot be reached by peers`);
  }

  let keysText = raw.gossipKeys;
  if (keysText === undefined && raw.gossipKeysFile !== undefined) {
    try {
      keysText = readFileSync(raw.gossipKeysFile, 'utf8');
    } catch (err) {
      throw new ConfigError(
        s.gossipKeysFile.env,
        `cannot read ${raw.gossipKeysFile}: ${(err as Error).message}`,
      );
    }
  }
  const variableOfKeys = raw.gossipKeys !== undefined ? s.gossipKeys.env : s.gossipKeysFile.env;

  const logLevel = (raw.logLevel ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      s.logLevel.env,
      `"${raw.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`,
    );
  }

  return {
    nodeName: name(s.nodeName.env, raw.nodeName ?? hostname(), NODE_NAME_BYTES_MAX),
    bindAddr,
    advertiseAddr,
    httpPort: raw.httpPort === undefined ? 8080 : port(s.httpPort.env, raw.httpPort),
    gossipPort: raw.gossipPort === undefined ? 7946 : port(s.gossipPort.env, raw.gossipPort),
    dataDir: raw.dataDir ?? './data',
    join: (raw.join ?? '')
      .split(',')
      .filter((entry) => entry.trim().length > 0)
      .map((entry) => parseHostPort(s.join.env, entry)),
    discoveryDns:
      raw.discoveryDns === undefined ? undefined : dnsName(s.discoveryDns.env, raw.discoveryDns),
    dnsServer: raw.dnsServer === undefined ? undefined : dnsServer(s.dnsServer.env, raw.dnsServer),
    clusterName: name(s.clusterName.env, raw.clusterName ?? 'shoal', CLUSTER_NAME_BYTES_MAX),
    gossipKeys: keysText === undefined ? [] : gossipKeys(variableOfKeys, keysText),
    replicationFactor:
      raw.replicationFactor === undefined
        ? 3
        : integer(s.replicationFactor.env, raw.replicationFactor, 1, REPLICATION_FACTOR_MAX),
    partitions:
      raw.partitions === undefined
        ? 256
        : integer(s.partitions.env, raw.partitions, 1, PARTITIONS_MAX),
    writeConsistency:
      raw.writeConsistency === undefined
        ? 'quorum'
        : consistency(s.writeConsistency.env, raw.writeConsistency),
    readConsistency:
      raw.readConsistency === undefined
        ? 'quorum'
        : consistency(s.readConsistency.env, raw.readConsistency),
    maxKeyBytes:
      raw.maxKeyBytes === undefined
        ? 1024
        : integer(s.maxKeyBytes.env, raw.maxKeyBytes, 1, KEY_BYTES_LIMIT_MAX),
    maxValueBytes:
      raw.maxValueBytes === undefined
        ? 1_048_576
        : integer(s.maxValueBytes.env, raw.maxValueBytes, 1, VALUE_BYTES_LIMIT_MAX),
    tombstoneGraceMs:
      1000 *
      (raw.tombstoneGraceSeconds === undefined
        ? TOMBSTONE_GRACE_SECONDS_DEFAULT
        : integer(
            s.tombstoneGraceSeconds.env,
            raw.tombstoneGraceSeconds,
            1,
            TOMBSTONE_GRACE_SECONDS_MAX,
          )),
    logLevel,
  };
}

function dnsName(variable: string, text: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  if (
    trimmed.length > 253 ||
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      trimmed,
    )
  ) {
    throw new ConfigError(variable, `"${text}" is not a DNS name`);
  }
  return trimmed;
}

function dnsServer(variable: string, text: string): HostPort {
  const server = parseHostPort(variable, text);
  ipAddress(variable, server.host);
  return server;
}
