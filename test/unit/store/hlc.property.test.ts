import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_LEAD_MAX_MS,
  CLOCK_RESERVATION_MS,
  HybridLogicalClock,
  type ClockReservation,
} from '../../../src/store/hlc.js';
import {
  compareVersions,
  formatVersion,
  parseVersion,
  type Version,
} from '../../../src/store/version.js';

describe('hybrid logical clock', () => {
  it('issues strictly increasing versions whatever the wall clock does (jumps back included)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 47 }), { minLength: 1, maxLength: 200 }),
        (walls) => {
          let i = 0;
          const clock = new HybridLogicalClock(
            'n',
            () => walls[Math.min(i++, walls.length - 1)] ?? 0,
          );
          let previous: Version | undefined;
          for (let n = 0; n < walls.length; n++) {
            const v = clock.now();
            if (previous) expect(compareVersions(v, previous)).toBeGreaterThan(0);
            // Never behind the wall clock it was given.
            expect(v.wallMs).toBeGreaterThanOrEqual(walls[n] ?? 0);
            previous = v;
          }
        },
      ),
    );
  });

  const seenVersions = fc.array(
    fc.record({
      wallMs: fc.integer({ min: 0, max: 2 ** 47 }),
      counter: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      node: fc.constantFrom('a', 'b', 'z'),
    }),
    { maxLength: 50 },
  );

  it('answers above the version it is shown and above every one it issued before', () => {
    fc.assert(
      fc.property(seenVersions, fc.integer({ min: 0, max: 2 ** 47 }), (seen, wallMs) => {
        const clock = new HybridLogicalClock('m', () => wallMs);
        for (const v of seen) {
          const before = clock.now();
          const answer = clock.nowAfter(v);
          expect(compareVersions(answer, v)).toBeGreaterThan(0);
          expect(compareVersions(answer, before)).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('is carried no further than the lead bound ahead of the wall clock by what it is shown', () => {
    fc.assert(
      fc.property(seenVersions, fc.integer({ min: 0, max: 2 ** 46 }), (seen, wallMs) => {
        const clock = new HybridLogicalClock('m', () => wallMs);
        for (const v of seen) clock.nowAfter(v);
        // One more millisecond when a counter at its maximum was observed at the bound.
        expect(clock.now().wallMs).toBeLessThanOrEqual(wallMs + CLOCK_LEAD_MAX_MS + 1);
      }),
    );
  });

  it.each([
    ['as many runs as it may keep', undefined],
    ['two runs at most, so it joins runs', 2],
  ])(
    'never hands out a timestamp twice, shown versions far ahead again and again (%s)',
    (_, runsMax) => {
      const step = fc.oneof(
        fc.record({ advanceMs: fc.integer({ min: -5, max: 100 }), seen: fc.constant(undefined) }),
        fc.record({
          advanceMs: fc.integer({ min: -5, max: 100 }),
          // A few versions, shown again and again: from a clock far ahead, then within the bound
          // as the wall clock catches up.
          seen: fc.record({
            wallMs: fc.constantFrom(0, 6_000, 6_001, 9_000, 12_000),
            counter: fc.integer({ min: 0, max: 3 }),
            node: fc.constantFrom('a', 'z'),
          }),
        }),
      );
      fc.assert(
        fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
          let wallMs = 0;
          const clock = new HybridLogicalClock('m', () => wallMs, runsMax);
          const handedOut = new Set<string>();
          let previousNow: Version | undefined;
          for (const { advanceMs, seen } of steps) {
            wallMs = Math.max(0, wallMs + advanceMs);
            const answer = seen === undefined ? clock.now() : clock.nowAfter(seen);
            const stamp = `${answer.wallMs}/${answer.counter}`;
            expect(handedOut.has(stamp), stamp).toBe(false);
            handedOut.add(stamp);
            if (seen !== undefined) expect(compareVersions(answer, seen)).toBeGreaterThan(0);
            if (seen === undefined) {
              if (previousNow) expect(compareVersions(answer, previousNow)).toBeGreaterThan(0);
              previousNow = answer;
            }
          }
        }),
      );
    },
  );

  it('follows a version from a clock a little ahead, as any hybrid logical clock does', () => {
    const clock = new HybridLogicalClock('m', () => 1_000_000);
    const seen = { wallMs: 1_000_000 + CLOCK_LEAD_MAX_MS, counter: 7, node: 'a' };
    expect(clock.nowAfter(seen)).toEqual({ ...seen, counter: 8, node: 'm' });
    // Later writes of other keys follow it too.
    expect(clock.now()).toEqual({ ...seen, counter: 9, node: 'm' });
  });

  it('never hands out a version twice across a restart, even with the wall clock set back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_000_000, max: 1_100_000 }), { minLength: 1, maxLength: 100 }),
        fc.array(fc.integer({ min: 0, max: 1_100_000 }), { minLength: 1, maxLength: 100 }),
        (before, after) => {
          let kept: number | undefined;
          const store: ClockReservation = {
            get reservedUntilMs() {
              return kept;
            },
            reserve: (untilMs) => {
              kept = untilMs;
            },
          };
          let i = 0;
          const first = new HybridLogicalClock('n', () => before[i++] ?? 0, undefined, store);
          const issued = before.map(() => first.now());
          const newest = issued.reduce((a, b) => (compareVersions(a, b) > 0 ? a : b));
          // The process restarts, perhaps on a machine whose clock is behind.
          let j = 0;
          const second = new HybridLogicalClock('n', () => after[j++] ?? 0, undefined, store);
          for (const _ of after) expect(compareVersions(second.now(), newest)).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('reserves once per reservation span, not on every version', () => {
    let wall = 5_000_000;
    const reserved: number[] = [];
    const clock = new HybridLogicalClock('n', () => wall, undefined, {
      reservedUntilMs: undefined,
      reserve: (untilMs) => reserved.push(untilMs),
    });
    for (let n = 0; n < 10_000; n++) {
      clock.now();
      wall += n % 100 === 0 ? 1 : 0;
    }
    expect(reserved).toEqual([5_000_000 + CLOCK_RESERVATION_MS]);
  });

  it('orders versions totally and consistently', () => {
    const version = fc.record({
      wallMs: fc.integer({ min: 0, max: 1000 }),
      counter: fc.integer({ min: 0, max: 3 }),
      node: fc.constantFrom('a', 'b'),
    });
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        // Antisymmetric: a < b exactly when b > a (0 both ways when equal).
        expect(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a))).toBe(0);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) {
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('prints and parses versions losslessly (node names may hold dashes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/),
        (wallMs, counter, node) => {
          expect(parseVersion(formatVersion({ wallMs, counter, node }))).toEqual({
            wallMs,
            counter,
            node,
          });
        },
      ),
    );
  });
});
