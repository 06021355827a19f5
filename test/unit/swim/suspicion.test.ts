import { describe, expect, it } from 'vitest';
import { Suspicion, suspicionTimeoutAfterMs } from '../../../src/cluster/swim/suspicion.js';

describe('suspicionTimeoutAfterMs', () => {
  it('starts at max, reaches min after k confirmations, and never goes below min', () => {
    expect(suspicionTimeoutAfterMs(0, 3, 2_000, 30_000)).toBe(30_000);
    expect(suspicionTimeoutAfterMs(3, 3, 2_000, 30_000)).toBe(2_000);
    expect(suspicionTimeoutAfterMs(10, 3, 2_000, 30_000)).toBe(2_000);
  });

  it('follows max - (max - min) * log(c + 1) / log(k + 1) in between', () => {
    // k = 3, min 2 s, max 30 s: 30 - 28 * log(2)/log(4) = 16 s; 30 - 28 * log(3)/log(4) = 7.81 s.
    expect(suspicionTimeoutAfterMs(1, 3, 2_000, 30_000)).toBe(16_000);
    expect(suspicionTimeoutAfterMs(2, 3, 2_000, 30_000)).toBe(7_810);
  });

  it('stays at max when no confirmations are expected', () => {
    expect(suspicionTimeoutAfterMs(0, 0, 2_000, 30_000)).toBe(30_000);
  });
});

describe('Suspicion', () => {
  it('shortens its deadline with each new independent confirmation', () => {
    const s = new Suspicion('a', 3, 2_000, 30_000, 1_000);
    expect(s.deadlineMs).toBe(31_000);
    expect(s.confirm('b')).toBe(true);
    expect(s.deadlineMs).toBe(17_000);
    expect(s.confirm('c')).toBe(true);
    expect(s.deadlineMs).toBe(8_810);
    expect(s.confirm('d')).toBe(true);
    expect(s.deadlineMs).toBe(3_000);
    expect(s.confirmationCount).toBe(3);
  });

  it('does not count the accuser, repeats, or confirmations past k', () => {
    const s = new Suspicion('a', 2, 2_000, 12_000, 0);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.confirm('c')).toBe(true);
    expect(s.confirm('d')).toBe(false);
    expect(s.confirmationCount).toBe(2);
    expect(s.deadlineMs).toBe(2_000);
  });

  it('with k = 0 keeps the maximum whatever arrives', () => {
    const s = new Suspicion('a', 0, 4_000, 24_000, 0);
    expect(s.confirm('b')).toBe(false);
    expect(s.deadlineMs).toBe(24_000);
  });
});
