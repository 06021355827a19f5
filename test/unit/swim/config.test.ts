import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SWIM_CONFIG,
  pushPullIntervalScaledMs,
  resolveSwimConfig,
  retransmitLimit,
  suspicionTimeoutMs,
  SwimConfigError,
} from '../../../src/cluster/swim/config.js';

const config = resolveSwimConfig();

describe('SWIM formulas (memberlist LAN defaults)', () => {
  it('suspicion timeout is 4 * max(1, log10 N) * probe interval', () => {
    expect(suspicionTimeoutMs(config, 1)).toBe(4_000);
    expect(suspicionTimeoutMs(config, 10)).toBe(4_000);
    expect(suspicionTimeoutMs(config, 100)).toBe(8_000);
    expect(suspicionTimeoutMs(config, 1_000)).toBe(12_000);
  });

  it('each broadcast is sent 4 * ceil(log10(N + 1)) times', () => {
    expect(retransmitLimit(config, 1)).toBe(4);
    expect(retransmitLimit(config, 9)).toBe(4);
    expect(retransmitLimit(config, 10)).toBe(8);
    expect(retransmitLimit(config, 1_000)).toBe(16);
  });

  it('push-pull is every 30 s up to 32 members, then scaled by ceil(log2 N - 5) + 1', () => {
    expect(pushPullIntervalScaledMs(config, 32)).toBe(30_000);
    expect(pushPullIntervalScaledMs(config, 33)).toBe(60_000);
    expect(pushPullIntervalScaledMs(config, 64)).toBe(60_000);
    expect(pushPullIntervalScaledMs(config, 65)).toBe(90_000);
    expect(pushPullIntervalScaledMs(config, 1_000)).toBe(180_000);
  });
});

describe('resolveSwimConfig', () => {
  it('gives memberlist LAN defaults', () => {
    expect(config).toMatchObject({
      probeIntervalMs: 1_000,
      probeTimeoutMs: 500,
      indirectChecks: 3,
      gossipIntervalMs: 200,
      gossipNodes: 3,
      retransmitMult: 4,
      suspicionMult: 4,
      suspicionMaxTimeoutMult: 6,
      pushPullIntervalMs: 30_000,
      awarenessMaxMultiplier: 8,
      gossipToTheDeadMs: 30_000,
    });
    expect(config).toEqual({ ...DEFAULT_SWIM_CONFIG });
  });

  it('refuses settings that cannot work', () => {
    expect(() => resolveSwimConfig({ probeTimeoutMs: 1_000 })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ probeIntervalMs: 0 })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ broadcastQueueMax: -1 })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ membersMax: 1 })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ packetOverheadBytes: 400 })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ gossipNodes: Number.NaN })).toThrow(SwimConfigError);
    expect(() => resolveSwimConfig({ indirectNackTimeoutMs: 500 })).toThrow(SwimConfigError);
  });

  it('accepts the overhead of a 255-byte label plus a seal', () => {
    expect(resolveSwimConfig({ packetOverheadBytes: 257 + 29 }).packetOverheadBytes).toBe(286);
  });
});
