import { describe, expect, it } from 'vitest';
import {
  canonicalHost,
  formatPeer,
  samePeer,
  uniquePeers,
} from '../../../src/cluster/discovery/peer-address.js';

describe('peer addresses', () => {
  it('writes IPv6 in brackets', () => {
    expect(formatPeer({ host: '10.0.0.1', port: 7946 })).toBe('10.0.0.1:7946');
    expect(formatPeer({ host: 'fd00::1', port: 7946 })).toBe('[fd00::1]:7946');
  });

  it('spells one IPv6 address one way', () => {
    expect(canonicalHost('FD00:0:0:0::1')).toBe('fd00::1');
    expect(samePeer({ host: 'fd00:0::1', port: 1 }, { host: 'FD00::1', port: 1 })).toBe(true);
    expect(samePeer({ host: 'fd00::1', port: 1 }, { host: 'fd00::1', port: 2 })).toBe(false);
  });

  it('deduplicates and orders IPv4 numerically, then IPv6, then names, then ports', () => {
    expect(
      uniquePeers([
        { host: 'seed.example', port: 1 },
        { host: 'fd00::1', port: 1 },
        { host: '10.0.0.10', port: 2 },
        { host: '10.0.0.9', port: 2 },
        { host: '10.0.0.10', port: 1 },
        { host: 'FD00:0::1', port: 1 },
        { host: '10.0.0.9', port: 2 },
      ]),
    ).toEqual([
      { host: '10.0.0.9', port: 2 },
      { host: '10.0.0.10', port: 1 },
      { host: '10.0.0.10', port: 2 },
      { host: 'fd00::1', port: 1 },
      { host: 'seed.example', port: 1 },
    ]);
  });
});
