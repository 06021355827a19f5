import { describe, expect, it } from 'vitest';
import { Awareness } from '../../../src/cluster/swim/awareness.js';

describe('Awareness', () => {
  it('starts healthy: score 0, timeouts unscaled', () => {
    const a = new Awareness(8);
    expect(a.healthScore).toBe(0);
    expect(a.scaleMs(500)).toBe(500);
  });

  it('scales timeouts by score + 1', () => {
    const a = new Awareness(8);
    expect(a.applyDelta(3)).toBe(true);
    expect(a.multiplier).toBe(4);
    expect(a.scaleMs(1_000)).toBe(4_000);
  });

  it('clamps to 0 .. max - 1 and reports only real changes', () => {
    const a = new Awareness(8);
    expect(a.applyDelta(-1)).toBe(false);
    expect(a.healthScore).toBe(0);
    expect(a.applyDelta(100)).toBe(true);
    expect(a.healthScore).toBe(7);
    expect(a.applyDelta(1)).toBe(false);
    expect(a.applyDelta(-2)).toBe(true);
    expect(a.healthScore).toBe(5);
  });
});
