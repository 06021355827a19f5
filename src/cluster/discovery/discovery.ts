// Where a node finds peers to join: the headless Service's DNS (SHOAL_DISCOVERY_DNS) and static
// seeds (SHOAL_JOIN), together. This class only answers "who is out there now"; the membership
// shell owns the timers and calls `discover()` on the schedule below:
//
//  - at start-up, up to STARTUP_ATTEMPTS rounds with backoff until a round finds a peer: pods of
//    a StatefulSet start in order, and a pod's DNS record may appear a moment after the pod;
//    after the last round the node starts alone (the first pod of a new cluster always does);
//  - then every REDISCOVER_INTERVAL_MS, joining any address that is not an alive member, so a
//    cluster heals by itself after a partition of any length and a restarted pod with a new IP
//    is found again.

import { isIP } from 'node:net';
import { backoffDelayMs } from './backoff.js';
import { type DnsServer, type QueryOptions } from './dns-client.js';
import { DnsError } from './dns-error.js';
import { resolvePeers, type LookupOutcome, type PeerLookup } from './peer-resolver.js';
import { samePeer, uniquePeers, type PeerAddress } from './peer-address.js';
import { DNS_PORT, readNameservers } from './resolv-conf.js';
import { resolveSeeds, type SeedEntry, type SeedFailure } from './seeds.js';

/** Re-resolve the headless Service this often: a new or moved pod is joined within this time. */
export const REDISCOVER_INTERVAL_MS = 15_000;
/** Discovery rounds at start-up before a node that found no peer starts alone. */
export const STARTUP_ATTEMPTS = 5;
/** Wait before the second start-up round; doubles per round up to STARTUP_RETRY_MAX_MS. */
export const STARTUP_RETRY_BASE_MS = 200;
export const STARTUP_RETRY_MAX_MS = 2_000;

/** The DNS lookup's outcome, or `static` when no DNS name is configured (seeds only). */
export type DiscoveryOutcome = LookupOutcome | 'static';

export interface DiscoveryOptions {
  /** SHOAL_JOIN, parsed (config.ts's HostPort[] fits); a seed without port gets `defaultPort`. */
  seeds?: readonly SeedEntry[];
  /** SHOAL_DISCOVERY_DNS: the headless Service's fully qualified name. */
  dnsName?: string | undefined;
  /** SHOAL_DNS_SERVER; when unset, the first nameserver of resolv.conf (port 53). */
  dnsServer?: { host: string; port?: number | undefined } | undefined;
  /** The gossip port: peers found without a port (A/AAAA, seeds without one) use it. */
  defaultPort: number;
  /** This node's own advertised gossip address, left out of results (DNS lists us too). */
  self?: PeerAddress | undefined;
  query?: QueryOptions;
  /** Source of nameservers when `dnsServer` is unset; reads /etc/resolv.conf by default. */
  nameservers?: () => Promise<string[]>;
}

export interface DiscoveryResult {
  /** Deduplicated, sorted, without `self`. */
  peers: PeerAddress[];
  /** Count as shoal_discovery_lookups_total{outcome}. */
  outcome: DiscoveryOutcome;
  /** Why DNS found fewer peers than it might have (also set when it found some). */
  dnsError: DnsError | undefined;
  /** Seeds that could not be looked up this round. */
  seedFailures: SeedFailure[];
}

export class Discovery {
  private readonly options: DiscoveryOptions;
  private server: DnsServer | undefined;

  constructor(options: DiscoveryOptions) {
    this.options = options;
  }

  /** False when there is nothing to discover from: the node starts alone right away. */
  get configured(): boolean {
    return this.options.dnsName !== undefined || (this.options.seeds ?? []).length > 0;
  }

  /** One round: DNS and seeds, in parallel. Never rejects for DNS failures; they are reported. */
  async discover(): Promise<DiscoveryResult> {
    const seeds = this.options.seeds ?? [];
    const dnsName = this.options.dnsName;
    const needsServer =
      dnsName !== undefined ||
      seeds.some((s) => isIP(s.host) === 0 && s.host.toLowerCase() !== 'localhost');

    let server: DnsServer | undefined;
    let serverError: DnsError | undefined;
    if (needsServer) {
      try {
        server = await this.dnsServer();
      } catch (err) {
        if (!(err instanceof DnsError)) throw err;
        serverError = err;
      }
    }

    const [dns, fromSeeds] = await Promise.all([
      this.lookupService(dnsName, server, serverError),
      resolveSeeds(seeds, {
        defaultPort: this.options.defaultPort,
        server,
        query: this.options.query,
      }),
    ]);

    const self = this.options.self;
    const peers = uniquePeers([...(dns?.peers ?? []), ...fromSeeds.peers]).filter(
      (peer) => self === undefined || !samePeer(peer, self),
    );
    return {
      peers,
      outcome: dns?.outcome ?? 'static',
      dnsError: dns?.error,
      seedFailures: fromSeeds.failures,
    };
  }

  private async lookupService(
    name: string | undefined,
    server: DnsServer | undefined,
    serverError: DnsError | undefined,
  ): Promise<PeerLookup | undefined> {
    if (name === undefined) return undefined;
    if (server === undefined) return { peers: [], outcome: 'error', error: serverError };
    return resolvePeers({
      name,
      server,
      defaultPort: this.options.defaultPort,
      query: this.options.query,
    });
  }

  /** The configured server, else resolv.conf's first nameserver (read once it is found). */
  private async dnsServer(): Promise<DnsServer> {
    const configured = this.options.dnsServer;
    if (configured !== undefined)
      return { host: configured.host, port: configured.port ?? DNS_PORT };
    if (this.server !== undefined) return this.server;
    let nameservers: string[];
    try {
      nameservers = await (this.options.nameservers ?? readNameservers)();
    } catch (err) {
      throw new DnsError('DNS_NO_SERVER', `cannot read resolv.conf: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const [first] = nameservers;
    if (first === undefined) {
      throw new DnsError('DNS_NO_SERVER', 'no nameserver in resolv.conf; set SHOAL_DNS_SERVER');
    }
    this.server = { host: first, port: DNS_PORT };
    return this.server;
  }
}

/**
 * The wait before start-up round `attemptsMade + 1`, or undefined when STARTUP_ATTEMPTS rounds
 * are done and the node should start alone: 200, 400, 800, 1600 ms.
 */
export function startupRetryDelayMs(attemptsMade: number): number | undefined {
  if (attemptsMade >= STARTUP_ATTEMPTS) return undefined;
  return backoffDelayMs(attemptsMade, STARTUP_RETRY_BASE_MS, STARTUP_RETRY_MAX_MS);
}
