// The address of a peer's gossip endpoint, as discovery hands it to the membership shell: an IP
// literal (seeds given by name are looked up first) and the UDP/TCP gossip port. Helpers here give every source (SRV, A/AAAA, seeds) one canonical
// spelling, one order and one notion of "the same address", so results can be compared and
// deduplicated.

import { isIP, isIPv4 } from 'node:net';

export interface PeerAddress {
  host: string;
  port: number;
}

/**
 * The canonical text of an address: IPv6 compressed and lower case (`0:0::1` -> `::1`), so two
 * spellings of one address deduplicate. Names and IPv4 are returned as given (names lower-cased).
 */
export function canonicalHost(host: string): string {
  if (isIP(host) === 6) {
    try {
      // The WHATWG URL serializer writes IPv6 the RFC 5952 way (compressed, lower case, no
      // dotted tail for ::1:7946, unlike inet_ntop).
      return new URL(`http://[${host}]/`).hostname.slice(1, -1);
    } catch {
      // A zone id (fe80::1%eth0) is not allowed in a URL; keep the address as written.
      return host.toLowerCase();
    }
  }
  return host.toLowerCase();
}

/** `10.0.0.1:7946`, `[fd00::1]:7946` */
export function formatPeer(peer: PeerAddress): string {
  return isIP(peer.host) === 6 ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`;
}

export function samePeer(a: PeerAddress, b: PeerAddress): boolean {
  return a.port === b.port && canonicalHost(a.host) === canonicalHost(b.host);
}

/** Orders IPv4 (numerically, 10.0.0.9 before 10.0.0.10), then IPv6, then names; then by port. */
export function comparePeers(a: PeerAddress, b: PeerAddress): number {
  const rank = (host: string): number => (isIPv4(host) ? 0 : isIP(host) === 6 ? 1 : 2);
  const byRank = rank(a.host) - rank(b.host);
  if (byRank !== 0) return byRank;
  if (isIPv4(a.host) && isIPv4(b.host)) {
    const octetsA = a.host.split('.').map(Number);
    const octetsB = b.host.split('.').map(Number);
    for (let i = 0; i < 4; i++) {
      const diff = (octetsA[i] ?? 0) - (octetsB[i] ?? 0);
      if (diff !== 0) return diff;
    }
  } else if (a.host !== b.host) {
    return a.host < b.host ? -1 : 1;
  }
  return a.port - b.port;
}

/** Canonical, deduplicated and sorted: the same set of peers always gives the same array. */
export function uniquePeers(peers: Iterable<PeerAddress>): PeerAddress[] {
  const byKey = new Map<string, PeerAddress>();
  for (const peer of peers) {
    const canonical = { host: canonicalHost(peer.host), port: peer.port };
    byKey.set(formatPeer(canonical), canonical);
  }
  return [...byKey.values()].sort(comparePeers);
}
