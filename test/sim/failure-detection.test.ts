import { describe, expect, it } from 'vitest';
import { Declarations, formCluster, nodeName } from './scenario.js';
import { withSeed } from './seed.js';

const SIZE = 100;
// At 100 members: minimum suspicion timeout 4 * log10(100) * 1 s = 8 s, maximum 6x that.
const SUSPICION_MIN_MS = 8_000;
const SUSPICION_MAX_MS = 48_000;

describe('simulated cluster: failure detection', () => {
  it('a crashed member is suspected, then declared dead by every member', () => {
    withSeed(21, (seed) => {
      const cluster = formCluster({ seed, size: SIZE });
      const seen = new Declarations(cluster);
      const victim = nodeName(42);
      const crashedAt = cluster.now;
      cluster.crash(victim);
      const took = cluster.runUntil(
        () => cluster.allSee(victim, 'dead'),
        SUSPICION_MAX_MS + 10_000,
      );
      expect(took).toBeDefined();
      // Suspicion came first, and several members confirmed it (Lifeguard): so the timer ran
      // near its minimum rather than its maximum.
      const firstSuspect = seen.firstSuspectMs.get(victim);
      expect(firstSuspect).toBeDefined();
      expect(crashedAt + took!).toBeLessThanOrEqual(firstSuspect! + SUSPICION_MIN_MS + 5_000);
      expect(seen.deadCount(victim)).toBe(SIZE - 1);
      // Nobody else was declared dead.
      expect(seen.deadCount()).toBe(SIZE - 1);
    });
  }, 60_000);

  it('a paused member that resumes within the suspicion timeout refutes and stays alive', () => {
    withSeed(22, (seed) => {
      const cluster = formCluster({ seed, size: SIZE });
      const seen = new Declarations(cluster);
      const victim = nodeName(17);
      const incarnationBefore = cluster.node(victim).core.incarnation;
      cluster.pause(victim);
      cluster.runUntil(() => seen.suspect.has(victim), 10_000, 10);
      expect(seen.suspect.has(victim)).toBe(true);
      cluster.runFor(3_000);
      cluster.resume(victim);
      cluster.runFor(30_000);
      expect(seen.deadCount(victim)).toBe(0);
      expect(cluster.allSee(victim, 'alive')).toBe(true);
      expect(cluster.node(victim).core.incarnation).toBeGreaterThan(incarnationBefore);
      expect(cluster.converged()).toBe(true);
    });
  }, 60_000);

  it('a member paused past its suspicion timeout is declared dead, then comes back when it resumes', () => {
    withSeed(23, (seed) => {
      const cluster = formCluster({ seed, size: 30 });
      const victim = nodeName(5);
      cluster.pause(victim);
      expect(cluster.runUntil(() => cluster.allSee(victim, 'dead'), 60_000)).toBeDefined();
      cluster.resume(victim);
      expect(cluster.runUntil(() => cluster.converged(), 30_000)).toBeDefined();
    });
  }, 60_000);
});
