// When a delete may be forgotten: a tombstone, or an expired record (a delete at its expiry
// time), once the grace period has passed since.

import { describe, expect, it } from 'vitest';
import { TombstonePolicy } from '../../../src/replication/tombstone-policy.js';
import type { StoredRecord } from '../../../src/store/record.js';

const GRACE_MS = 1_000;
const NOW_MS = 1_000_000;
const policy = new TombstonePolicy(GRACE_MS, () => NOW_MS);

function record(overrides: Partial<StoredRecord>, wallMs = NOW_MS - 10 * GRACE_MS): StoredRecord {
  return {
    key: 'k',
    value: Buffer.from('v'),
    contentType: 'text/plain',
    version: { wallMs, counter: 0, node: 'n1' },
    tombstone: false,
    expiresAtMs: 0,
    ...overrides,
  };
}

describe('what may be forgotten', () => {
  it('a tombstone once the grace period has passed since it was written', () => {
    expect(policy.purgeable(record({ tombstone: true }))).toBe(true);
    expect(policy.purgeable(record({ tombstone: true }, NOW_MS - GRACE_MS + 1))).toBe(false);
  });

  it('an expired record once the grace period has passed since it expired, not at expiry', () => {
    expect(policy.purgeable(record({ expiresAtMs: NOW_MS - GRACE_MS - 1 }))).toBe(true);
    expect(policy.purgeable(record({ expiresAtMs: NOW_MS - GRACE_MS + 1 }))).toBe(false);
    expect(policy.purgeable(record({ expiresAtMs: NOW_MS - 1 }))).toBe(false);
  });

  it('never a live record, however old', () => {
    expect(policy.purgeable(record({}))).toBe(false);
    expect(policy.purgeable(record({ expiresAtMs: NOW_MS + 1 }))).toBe(false);
  });
});
