// Name -> addresses, the way discovery wants it: IPv4 first, IPv6 only for a name that has no
// IPv4 address. One family per name keeps a dual-stack pod from appearing as two peers.

import { query, type DnsServer, type QueryOptions } from './dns-client.js';
import { normalizeName, type DnsRecord } from './dns-message.js';

/**
 * CNAMEs followed inside one answer. Recursive resolvers put the whole chain in the answer; a
 * longer one is a loop or a misconfiguration, and its end is not trusted.
 */
export const CNAME_CHAIN_MAX = 8;

export interface HostLookup {
  addresses: string[];
  /** Which query found them; 'none' when neither did (NXDOMAIN or no A/AAAA records). */
  family: 'a' | 'aaaa' | 'none';
}

/**
 * The addresses of `name` of one record type among `records`, following the CNAME chain that
 * starts at `name` (as a resolver answers `www -> CNAME web -> A 10.0.0.1`).
 */
export function addressesOf(
  records: readonly DnsRecord[],
  name: string,
  type: 'A' | 'AAAA',
): string[] {
  const names = new Set<string>();
  let current: string | undefined = normalizeName(name);
  for (let hop = 0; current !== undefined && hop <= CNAME_CHAIN_MAX; hop++) {
    if (names.has(current)) break;
    names.add(current);
    const alias = records.find((r) => r.type === 'CNAME' && r.name === current);
    current = alias?.type === 'CNAME' ? alias.target : undefined;
  }
  const addresses = new Set<string>();
  for (const record of records) {
    if (record.type === type && names.has(record.name)) addresses.add(record.address);
  }
  return [...addresses];
}

/**
 * Asks for A records of `name`, then AAAA when the A answer has none. A failed A query rejects
 * with its DnsError at once: the same server would fail the AAAA question the same way, and
 * waiting out a second timeout only delays the report.
 */
export async function lookupHost(
  server: DnsServer,
  name: string,
  options: QueryOptions = {},
): Promise<HostLookup> {
  const a = await query(server, name, 'A', options);
  const v4 = addressesOf(a.answers, name, 'A');
  if (v4.length > 0) return { addresses: v4, family: 'a' };
  const aaaa = await query(server, name, 'AAAA', options);
  const v6 = addressesOf(aaaa.answers, name, 'AAAA');
  if (v6.length > 0) return { addresses: v6, family: 'aaaa' };
  return { addresses: [], family: 'none' };
}
