import { describe, expect, it } from 'vitest';
import { ProbeScheduler } from '../../../src/cluster/swim/probe-scheduler.js';
import { SeededRandom } from '../../../src/cluster/swim/random.js';

describe('ProbeScheduler', () => {
  it('probes every member exactly once per pass, in a new order each pass', () => {
    const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const s = new ProbeScheduler(new SeededRandom(1));
    const passes: string[][] = [];
    for (let p = 0; p < 3; p++) {
      const pass: string[] = [];
      for (let i = 0; i < names.length; i++)
        pass.push(
          s.next(
            () => true,
            () => [...names],
          )!,
        );
      passes.push(pass);
    }
    for (const pass of passes) expect([...pass].sort()).toEqual([...names].sort());
    expect(passes[1]).not.toEqual(passes[2]);
  });

  it('skips members that are not probeable and says when there are none', () => {
    const s = new ProbeScheduler(new SeededRandom(2));
    const all = () => ['a', 'b', 'c'];
    for (let i = 0; i < 6; i++) expect(s.next((n) => n === 'b', all)).toBe('b');
    expect(s.next(() => false, all)).toBeUndefined();
  });

  it('keeps its pass bounded under churn: at the bound a newcomer waits for the next pass', () => {
    const s = new ProbeScheduler(new SeededRandom(4));
    const names = ['a', 'b'];
    s.next(
      () => true,
      () => [...names],
    );
    for (let i = 0; i < 10; i++) s.add(`x${i}`, 4);
    const pass: string[] = [];
    for (
      let name = s.next(
        () => true,
        () => [],
      );
      name !== undefined;
      name = s.next(
        () => true,
        () => [],
      )
    ) {
      pass.push(name);
    }
    // One of a, b was probed; the other and three newcomers fill the bound of 4.
    expect(pass).toHaveLength(4);
  });

  it('probes a member added mid-pass within the same pass', () => {
    const s = new ProbeScheduler(new SeededRandom(3));
    const names = ['a', 'b', 'c', 'd'];
    const seen: string[] = [
      s.next(
        () => true,
        () => [...names],
      )!,
    ];
    s.add('new', 100);
    for (let i = 0; i < 4; i++)
      seen.push(
        s.next(
          () => true,
          () => [...names, 'new'],
        )!,
      );
    expect([...seen].sort()).toEqual(['a', 'b', 'c', 'd', 'new']);
  });
});
