import { describe, expect, it } from 'vitest';
import { Declarations, formCluster } from './scenario.js';
import { withSeed } from './seed.js';

const TEN_MINUTES_MS = 10 * 60_000;
const LOSS = 0.1;
/** After the loss stops, time for lingering suspicions to be refuted everywhere. */
const SETTLE_MS = 30_000;

describe('simulated cluster: 10% uniform packet loss', () => {
  it('100 members run 10 minutes without anyone falsely declared dead', () => {
    withSeed(31, (seed) => {
      const cluster = formCluster({ seed, size: 100 });
      const seen = new Declarations(cluster);
      cluster.network.setLoss(LOSS);
      cluster.runFor(TEN_MINUTES_MS);
      expect(seen.deadCount()).toBe(0);
      cluster.network.setLoss(0);
      expect(cluster.runUntil(() => cluster.converged(), SETTLE_MS)).toBeDefined();
    });
  }, 60_000);

  it('without the TCP fallback, suspicions happen and are all refuted: still no false death', () => {
    withSeed(32, (seed) => {
      const cluster = formCluster({ seed, size: 100, config: { tcpFallbackPing: false } });
      const seen = new Declarations(cluster);
      cluster.network.setLoss(LOSS);
      cluster.runFor(TEN_MINUTES_MS);
      // UDP alone loses whole probes here: members are suspected...
      expect(seen.suspect.size).toBeGreaterThan(0);
      // ...and every one of them refutes in time.
      expect(seen.deadCount()).toBe(0);
      cluster.network.setLoss(0);
      expect(cluster.runUntil(() => cluster.converged(), SETTLE_MS)).toBeDefined();
    });
  }, 90_000);
});
