import { describe, expect, it } from 'vitest';
import { formCluster, nodeName } from './scenario.js';
import { withSeed } from './seed.js';

const SIZE = 40;
// At 40 members the suspicion timeout is 4 * log10(40) s = 6.4 s, at most 6x that: 38.4 s.
const PARTITION_MS = 120_000;

describe('simulated cluster: partitions', () => {
  it('two halves cut apart longer than the dead timeout find each other again after the cut', () => {
    withSeed(41, (seed) => {
      const cluster = formCluster({ seed, size: SIZE });
      const names = Array.from({ length: SIZE }, (_, i) => nodeName(i));
      const left = names.slice(0, SIZE / 2);
      const right = names.slice(SIZE / 2);
      cluster.network.partition([left, right]);
      cluster.runFor(PARTITION_MS);
      // Each side holds the other side dead, its own side alive.
      for (const observer of [left[0]!, right[0]!]) {
        const core = cluster.node(observer).core;
        expect(core.memberCount('dead')).toBe(SIZE / 2);
        expect(core.memberCount('alive')).toBe(SIZE / 2);
      }
      cluster.network.heal();
      const healedIn = cluster.runUntil(() => cluster.converged(), 120_000, 500);
      expect(healedIn, cluster.describeDivergence()).toBeDefined();
    });
  }, 60_000);
});
