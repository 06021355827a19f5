import { describe, expect, it } from 'vitest';
import { SimCluster } from './cluster.js';
import { EventQueue } from './event-queue.js';
import { formCluster, nodeName } from './scenario.js';

/** Everything members declared during a short run with loss and a crash, as text lines. */
function history(seed: number): string[] {
  const lines: string[] = [];
  const cluster = formCluster({ seed, size: 20, network: { loss: 0.05, duplicate: 0.05 } });
  cluster.onEvent((node, event, now) => {
    lines.push(`${now} ${node} ${event.type} ${'member' in event ? event.member.name : ''}`);
  });
  cluster.crash(nodeName(3));
  cluster.runFor(30_000);
  return lines;
}

describe('the simulator', () => {
  it('replays a run exactly from its seed, and another seed gives another run', () => {
    const a = history(5);
    const b = history(5);
    const c = history(6);
    expect(a.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  }, 30_000);

  it('orders events by time, then by the order they were scheduled', () => {
    const q = new EventQueue();
    const order: string[] = [];
    for (const [at, tag] of [
      [5, 'a'],
      [1, 'b'],
      [5, 'c'],
      [0, 'd'],
      [3, 'e'],
    ] as const) {
      q.schedule(at, () => order.push(tag));
    }
    while (q.size > 0) q.pop()?.run();
    expect(order).toEqual(['d', 'b', 'e', 'a', 'c']);
  });

  it('a partition stops datagrams between groups and a heal restores them', () => {
    const cluster = new SimCluster({ seed: 1 });
    cluster.network.partition([['a'], ['b']]);
    expect(cluster.network.canReach('a', 'b')).toBe(false);
    expect(cluster.network.canReach('a', 'a')).toBe(true);
    cluster.network.heal();
    expect(cluster.network.canReach('a', 'b')).toBe(true);
  });
});
