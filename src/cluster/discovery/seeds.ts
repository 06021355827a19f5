// Static seeds (SHOAL_JOIN): addresses to join besides, or instead of, the headless Service. An
// entry may name a host; names are looked up with the same DNS client as the Service, so the
// same server, timeouts and failure reports apply.

import { isIP, isIPv4, isIPv6 } from 'node:net';
import { type DnsServer, type QueryOptions } from './dns-client.js';
import { LABEL_BYTES_MAX, NAME_CHARS_MAX } from './dns-message.js';
import { DnsError } from './dns-error.js';
import { lookupHost } from './host-lookup.js';
import { canonicalHost, formatPeer, uniquePeers, type PeerAddress } from './peer-address.js';
import { SeedError } from './seed-error.js';

/** A host name label (RFC 1123): letters, digits and inner hyphens. */
const HOST_LABEL = new RegExp(`^[A-Za-z0-9]([A-Za-z0-9-]{0,${LABEL_BYTES_MAX - 2}}[A-Za-z0-9])?$`);

/** A seed as configured: the port is optional (config.ts parses SHOAL_JOIN into this shape too). */
export interface SeedEntry {
  host: string;
  port?: number | undefined;
}

export interface SeedFailure {
  /** The seed as configured, `host:port`. */
  seed: string;
  error: DnsError;
}

export interface SeedResolution {
  /** Deduplicated and sorted. */
  peers: PeerAddress[];
  /** Seeds that gave no address this time; the rest are still usable. */
  failures: SeedFailure[];
}

/** `a,b:7000,[::1]:7000` -> seeds; empty entries (a trailing comma) are skipped. */
export function parseSeeds(text: string, defaultPort: number): PeerAddress[] {
  return text
    .split(',')
    .filter((entry) => entry.trim().length > 0)
    .map((entry) => parseSeed(entry, defaultPort));
}

/**
 * One entry: `host`, `host:port`, `[ipv6]`, `[ipv6]:port`, or a bare IPv6 address (which can
 * carry no port: `::1:7946` is itself an IPv6 address). Throws SeedError naming the entry.
 */
export function parseSeed(text: string, defaultPort: number): PeerAddress {
  const entry = text.trim();
  if (entry.length === 0) throw new SeedError(text, 'empty', 'is empty');
  if (entry.startsWith('[')) {
    const bracketed = /^\[([^\]]*)\](?::([^:]*))?$/.exec(entry);
    if (bracketed === null || !isIPv6(bracketed[1] ?? '')) {
      throw new SeedError(entry, 'bad_ipv6', 'brackets must hold an IPv6 address: [addr]:port');
    }
    const port = bracketed[2] === undefined ? defaultPort : parsePort(entry, bracketed[2]);
    return { host: canonicalHost(bracketed[1] ?? ''), port };
  }
  if (isIPv6(entry)) return { host: canonicalHost(entry), port: defaultPort };
  const colons = entry.split(':').length - 1;
  if (colons > 1) {
    throw new SeedError(entry, 'bad_ipv6', 'is not an IPv6 address (write [addr]:port)');
  }
  const [host = '', portText] = entry.split(':');
  checkHost(entry, host);
  const port = portText === undefined ? defaultPort : parsePort(entry, portText);
  return { host: canonicalHost(host), port };
}

/**
 * The addresses of `seeds`: IP literals as they are, host names looked up (A, then AAAA) at
 * `server`. A seed that does not resolve is reported in `failures`; the others still count.
 */
export async function resolveSeeds(
  seeds: readonly SeedEntry[],
  options: { defaultPort: number; server: DnsServer | undefined; query?: QueryOptions },
): Promise<SeedResolution> {
  const peers: PeerAddress[] = [];
  const failures: SeedFailure[] = [];
  await Promise.all(
    seeds.map(async (seed) => {
      const port = seed.port ?? options.defaultPort;
      const label = formatPeer({ host: seed.host, port });
      if (isIP(seed.host) !== 0) {
        peers.push({ host: seed.host, port });
        return;
      }
      // RFC 6761: localhost is loopback without asking anyone (a DNS server may not know it).
      if (seed.host.toLowerCase() === 'localhost') {
        peers.push({ host: '127.0.0.1', port });
        return;
      }
      if (options.server === undefined) {
        const error = new DnsError('DNS_NO_SERVER', `no DNS server to look up seed ${label}`);
        failures.push({ seed: label, error });
        return;
      }
      try {
        const found = await lookupHost(options.server, seed.host, options.query);
        if (found.addresses.length === 0) {
          const error = new DnsError('DNS_NO_ADDRESS', `seed ${label} has no A or AAAA record`);
          failures.push({ seed: label, error });
        }
        for (const address of found.addresses) peers.push({ host: address, port });
      } catch (err) {
        if (!(err instanceof DnsError)) throw err;
        failures.push({ seed: label, error: err });
      }
    }),
  );
  failures.sort((a, b) => (a.seed < b.seed ? -1 : a.seed > b.seed ? 1 : 0));
  return { peers: uniquePeers(peers), failures };
}

function checkHost(entry: string, host: string): void {
  if (host.length === 0) throw new SeedError(entry, 'bad_host', 'has no host');
  if (isIPv4(host)) return;
  // All digits and dots but not IPv4 (999.0.0.1, 10.1): a typo, not a host name.
  const numeric = /^[0-9.]+$/.test(host);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (
    numeric ||
    name.length > NAME_CHARS_MAX ||
    !name.split('.').every((l) => HOST_LABEL.test(l))
  ) {
    throw new SeedError(entry, 'bad_host', `"${host}" is not an IP address or host name`);
  }
}

function parsePort(entry: string, text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65_535)) {
    throw new SeedError(entry, 'bad_port', `"${text}" is not a port in 1..65535`);
  }
  return port;
}
