import { describe, expect, it } from 'vitest';
import {
  randomIntBelow,
  sampleWhere,
  SeededRandom,
  shuffleInPlace,
} from '../../../src/cluster/swim/random.js';

describe('SeededRandom', () => {
  it('replays the same stream from the same seed and another from another seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    const sb = Array.from({ length: 100 }, () => b.next());
    const sc = Array.from({ length: 100 }, () => c.next());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('stays in [0, 1) and spreads over the range', () => {
    const r = new SeededRandom(1);
    const buckets = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      if (x < 0 || x >= 1) outside++;
      else buckets[Math.floor(x * 10)]! += 1;
    }
    expect(outside).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(600);
  });
});

describe('helpers', () => {
  it('randomIntBelow stays below n', () => {
    const r = new SeededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const x = randomIntBelow(r, 7);
      expect(Number.isInteger(x) && x >= 0 && x < 7).toBe(true);
    }
  });

  it('shuffleInPlace permutes', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(new SeededRandom(5), items);
    expect([...items].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(items).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('sampleWhere returns up to k distinct accepted items', () => {
    const r = new SeededRandom(9);
    const items = Array.from({ length: 100 }, (_, i) => i);
    const even = sampleWhere(r, items, 5, (x) => x % 2 === 0);
    expect(even).toHaveLength(5);
    expect(new Set(even).size).toBe(5);
    for (const x of even) expect(x % 2).toBe(0);
    expect(sampleWhere(r, items, 3, () => false)).toEqual([]);
    expect(sampleWhere(r, [1, 2], 5, () => true).sort()).toEqual([1, 2]);
  });
});
