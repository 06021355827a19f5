import { describe, expect, it } from 'vitest';
import { formCluster } from './scenario.js';
import { withSeed } from './seed.js';

describe('simulated cluster: formation', () => {
  it('1,000 members joining through 3 seeds over 10 s all see 1,000 alive', () => {
    withSeed(1_000, (seed) => {
      const cluster = formCluster({
        seed,
        size: 1_000,
        startWindowMs: 10_000,
        convergeWithinMs: 60_000,
      });
      const up = cluster.upNodes();
      expect(up).toHaveLength(1_000);
      for (const node of up) expect(node.core.memberCount('alive')).toBe(1_000);
      // Formation took at most the start window plus the minute it was allowed.
      expect(cluster.now).toBeLessThanOrEqual(10_001 + 60_000);
    });
  }, 180_000);

  it('a small cluster converges within a few seconds of its last join', () => {
    withSeed(7, (seed) => {
      const cluster = formCluster({
        seed,
        size: 10,
        startWindowMs: 1_000,
        convergeWithinMs: 5_000,
      });
      expect(cluster.converged()).toBe(true);
    });
  });
});
