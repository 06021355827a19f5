// The peers behind a headless Service name. Kubernetes cluster DNS publishes, for a headless
// Service with a port named `gossip`, the SRV record `_gossip._udp.<service>` with one target per
// pod (`<pod>.<service>`) and, in the additional section, each target's address; and A/AAAA
// records of `<service>` itself with every pod's address. SRV comes first because it carries the
// port; A/AAAA is the fallback for a Service without a named port, or a plain DNS server.
//
// Failures do not reject: the result says what happened (`outcome`, for the
// shoal_discovery_lookups_total counter) and carries the first DnsError, so the caller can log it
// and simply try again on its next round.

import { isIP } from 'node:net';
import { addressesOf, lookupHost } from './host-lookup.js';
import { query, type DnsServer, type QueryOptions } from './dns-client.js';
import { normalizeName } from './dns-message.js';
import { DnsError } from './dns-error.js';
import { uniquePeers, type PeerAddress } from './peer-address.js';

export const GOSSIP_SRV_PREFIX = '_gossip._udp.';
/** SRV targets looked at per lookup; past this a Service is far beyond any cluster we plan for. */
export const SRV_TARGETS_MAX = 1_024;
/** Follow-up A/AAAA queries in flight at once, for targets without additional records. */
export const TARGET_LOOKUPS_CONCURRENT_MAX = 8;

/**
 * `srv`: peers came from the SRV record; `a` / `aaaa`: from the Service name's addresses;
 * `empty`: DNS answered, with no peers; `error`: no peers, and at least one query failed.
 */
export type LookupOutcome = 'srv' | 'a' | 'aaaa' | 'empty' | 'error';
export const LOOKUP_OUTCOMES: readonly LookupOutcome[] = ['srv', 'a', 'aaaa', 'empty', 'error'];

export interface ResolvePeersOptions {
  /** The headless Service's fully qualified name, e.g. shoal-headless.default.svc.cluster.local */
  name: string;
  server: DnsServer;
  /** Port for addresses found without SRV: the gossip port, equal on every pod of a StatefulSet. */
  defaultPort: number;
  query?: QueryOptions;
}

export interface PeerLookup {
  /** Deduplicated and sorted. */
  peers: PeerAddress[];
  outcome: LookupOutcome;
  /** The first query failure, also when other queries still found peers. */
  error: DnsError | undefined;
}

export async function resolvePeers(options: ResolvePeersOptions): Promise<PeerLookup> {
  let firstError: DnsError | undefined;
  const note = (err: unknown): void => {
    // Only DNS failures are outcomes; anything else is a bug of ours and must surface.
    if (!(err instanceof DnsError)) throw err;
    firstError ??= err;
  };

  try {
    const peers = await peersFromSrv(options, note);
    if (peers.length > 0) return { peers, outcome: 'srv', error: firstError };
  } catch (err) {
    note(err);
  }

  // A server that could not be reached for SRV will not be reached for A either: report now
  // rather than wait out the timeouts twice.
  if (firstError?.code === 'DNS_TIMEOUT' || firstError?.code === 'DNS_NETWORK') {
    return { peers: [], outcome: 'error', error: firstError };
  }

  try {
    const host = await lookupHost(options.server, options.name, options.query);
    if (host.family !== 'none') {
      const peers = uniquePeers(
        host.addresses.map((a) => ({ host: a, port: options.defaultPort })),
      );
      return { peers, outcome: host.family, error: firstError };
    }
  } catch (err) {
    note(err);
  }

  return { peers: [], outcome: firstError === undefined ? 'empty' : 'error', error: firstError };
}

async function peersFromSrv(
  options: ResolvePeersOptions,
  note: (err: unknown) => void,
): Promise<PeerAddress[]> {
  const response = await query(
    options.server,
    GOSSIP_SRV_PREFIX + normalizeName(options.name),
    'SRV',
    options.query,
  );
  const portsByTarget = new Map<string, Set<number>>();
  for (const record of response.answers) {
    // Target "." means "no such service here" (RFC 2782); port 0 cannot be gossiped to.
    if (record.type !== 'SRV' || record.target === '' || record.port === 0) continue;
    const ports = portsByTarget.get(record.target);
    if (ports !== undefined) ports.add(record.port);
    else if (portsByTarget.size < SRV_TARGETS_MAX)
      portsByTarget.set(record.target, new Set([record.port]));
  }

  const targets = [...portsByTarget.keys()];
  const addressLists = await mapConcurrently(
    targets,
    TARGET_LOOKUPS_CONCURRENT_MAX,
    async (target) => {
      if (isIP(target) !== 0) return [target];
      const v4 = addressesOf(response.additionals, target, 'A');
      if (v4.length > 0) return v4;
      const v6 = addressesOf(response.additionals, target, 'AAAA');
      if (v6.length > 0) return v6;
      // No additional records (a DNS server that does not add them, or an answer trimmed to
      // fit): ask for the target's addresses ourselves.
      try {
        return (await lookupHost(options.server, target, options.query)).addresses;
      } catch (err) {
        note(err);
        return [];
      }
    },
  );

  const peers: PeerAddress[] = [];
  targets.forEach((target, i) => {
    for (const address of addressLists[i] ?? []) {
      for (const port of portsByTarget.get(target) ?? []) peers.push({ host: address, port });
    }
  });
  return uniquePeers(peers);
}

/** `fn` over `items`, at most `limit` at a time, results in input order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
