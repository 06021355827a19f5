import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../../../src/cluster/swim/broadcast-queue.js';

const bytes = (tag: number, length = 10): Uint8Array => new Uint8Array(length).fill(tag);
const BIG = 10_000;

describe('BroadcastQueue', () => {
  it('sends each message exactly transmitLimit times, then forgets it', () => {
    const q = new BroadcastQueue(10);
    q.enqueue('a', bytes(1));
    const sent: number[] = [];
    for (let i = 0; i < 6; i++) sent.push(q.take(BIG, 2, 10, 4).length);
    expect(sent).toEqual([1, 1, 1, 1, 0, 0]);
    expect(q.size).toBe(0);
    expect(q.has('a')).toBe(false);
  });

  it('a newer message about the same key replaces the older one', () => {
    const q = new BroadcastQueue(10);
    q.enqueue('a', bytes(1));
    q.take(BIG, 2, 10, 4);
    q.enqueue('a', bytes(2));
    expect(q.size).toBe(1);
    const out = q.take(BIG, 2, 10, 4);
    expect(out).toEqual([bytes(2)]);
    // The replacement starts its transmit count afresh.
    let more = 0;
    while (q.take(BIG, 2, 10, 4).length > 0) more++;
    expect(more).toBe(3);
  });

  it('sends the least-sent messages first, newest first among equals', () => {
    const q = new BroadcastQueue(10);
    q.enqueue('old', bytes(1));
    q.take(BIG, 2, 10, 4);
    q.enqueue('x', bytes(2));
    q.enqueue('y', bytes(3));
    expect(q.take(BIG, 2, 1, 4)).toEqual([bytes(3)]);
    expect(q.take(BIG, 2, 1, 4)).toEqual([bytes(2)]);
    // x and y now have one transmit each, like old; y is the newest in that tier.
    expect(q.take(BIG, 2, 3, 4)).toHaveLength(3);
  });

  it('takes only what fits the space, counting the per-message overhead', () => {
    const q = new BroadcastQueue(10);
    q.enqueue('a', bytes(1, 100));
    q.enqueue('b', bytes(2, 30));
    const out = q.take(50, 2, 10, 4);
    expect(out).toEqual([bytes(2, 30)]);
    expect(q.take(31, 2, 10, 4)).toEqual([]);
    expect(q.take(32, 2, 10, 4)).toEqual([bytes(2, 30)]);
  });

  it('takes at most maxItems', () => {
    const q = new BroadcastQueue(10);
    for (let i = 0; i < 5; i++) q.enqueue(`k${i}`, bytes(i));
    expect(q.take(BIG, 2, 3, 4)).toHaveLength(3);
  });

  it('holds exactly maxItems at the bound', () => {
    const q = new BroadcastQueue(3);
    for (let i = 0; i < 3; i++) q.enqueue(`k${i}`, bytes(i));
    expect(q.size).toBe(3);
    expect(q.droppedCount).toBe(0);
  });

  it('past the bound drops the most-sent message first and counts it', () => {
    const q = new BroadcastQueue(3);
    q.enqueue('sent-twice', bytes(1));
    q.take(BIG, 2, 1, 10);
    q.take(BIG, 2, 1, 10);
    q.enqueue('b', bytes(2));
    q.enqueue('c', bytes(3));
    q.enqueue('d', bytes(4));
    expect(q.size).toBe(3);
    expect(q.droppedCount).toBe(1);
    expect(q.has('sent-twice')).toBe(false);
    expect(q.has('d')).toBe(true);
  });

  it('stays correct through thousands of items (lazy deletion and compaction)', () => {
    const q = new BroadcastQueue(5_000);
    for (let i = 0; i < 3_000; i++) q.enqueue(`k${i % 1_000}`, bytes(i % 250, 20));
    expect(q.size).toBe(1_000);
    let total = 0;
    for (let round = 0; round < 1_000; round++) total += q.take(1_400, 2, 64, 16).length;
    // Each of the 1,000 live messages is sent exactly 16 times.
    expect(total).toBe(16_000);
    expect(q.size).toBe(0);
  });
});
