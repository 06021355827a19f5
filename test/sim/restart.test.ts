import { describe, expect, it } from 'vitest';
import { formCluster, nodeName } from './scenario.js';
import { withSeed } from './seed.js';

describe('simulated cluster: restarts', () => {
  it('a member that died and restarts at a new address is alive there for everyone', () => {
    withSeed(51, (seed) => {
      const cluster = formCluster({ seed, size: 50 });
      const member = nodeName(12);
      const oldAddr = cluster.node(member).addr;
      cluster.crash(member);
      expect(cluster.runUntil(() => cluster.allSee(member, 'dead'), 60_000)).toBeDefined();
      const newAddr = cluster.freshAddress();
      cluster.restart(member, { addr: newAddr, seeds: [nodeName(0)] });
      const took = cluster.runUntil(() => cluster.allSee(member, 'alive', newAddr), 30_000);
      expect(took).toBeDefined();
      expect(newAddr).not.toBe(oldAddr);
      expect(cluster.converged()).toBe(true);
    });
  }, 60_000);

  it('a member that restarts at a new address before anyone noticed it went replaces its old record', () => {
    withSeed(52, (seed) => {
      const cluster = formCluster({ seed, size: 50 });
      const member = nodeName(30);
      const newAddr = cluster.freshAddress();
      cluster.restart(member, { addr: newAddr, seeds: [nodeName(1)] });
      expect(
        cluster.runUntil(() => cluster.allSee(member, 'alive', newAddr), 30_000),
      ).toBeDefined();
      // And it stays there: the old address's silence does not get the new process declared dead.
      cluster.runFor(60_000);
      expect(cluster.allSee(member, 'alive', newAddr)).toBe(true);
    });
  }, 60_000);
});
