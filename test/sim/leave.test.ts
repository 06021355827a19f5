import { describe, expect, it } from 'vitest';
import { Declarations, formCluster, nodeName } from './scenario.js';
import { withSeed } from './seed.js';

describe('simulated cluster: leaving', () => {
  it('a graceful leave is seen as left (never dead) by every member', () => {
    withSeed(61, (seed) => {
      const cluster = formCluster({ seed, size: 50 });
      const seen = new Declarations(cluster);
      const member = nodeName(7);
      cluster.leave(member);
      cluster.runUntil(() => cluster.node(member).core.leaveComplete, 10_000, 50);
      expect(cluster.node(member).core.leaveComplete).toBe(true);
      cluster.stop(member);
      cluster.runFor(120_000);
      expect(cluster.allSee(member, 'left')).toBe(true);
      expect(seen.deadCount()).toBe(0);
    });
  }, 60_000);

  it('force-remove drops a dead member for good on that node; the others see it left', () => {
    withSeed(62, (seed) => {
      const cluster = formCluster({ seed, size: 30 });
      const member = nodeName(9);
      const operator = nodeName(0);
      const operatorNode = cluster.node(operator);
      expect(cluster.act(operator, (core) => core.forceRemove(member))).toBe('alive');
      cluster.crash(member);
      expect(cluster.runUntil(() => cluster.allSee(member, 'dead'), 60_000)).toBeDefined();
      expect(cluster.act(operator, (core) => core.forceRemove(member))).toBe('removed');
      // Minutes of gossip, push-pulls and reconnect attempts do not bring it back.
      cluster.runFor(180_000);
      expect(operatorNode.core.member(member)).toBeUndefined();
      for (const node of cluster.upNodes()) {
        if (node !== operatorNode) expect(node.core.member(member)?.state).toBe('left');
      }
      // Until it really returns: a new incarnation is news again.
      cluster.restart(member, { seeds: [nodeName(1)] });
      expect(cluster.runUntil(() => cluster.converged(), 30_000)).toBeDefined();
    });
  }, 60_000);
});
