// When a delete may be forgotten: a tombstone, or an expired record (a delete at its expiry
// time), once the grace period has passed since, and only while the whole cluster is up.

import { describe, expect, it } from 'vitest';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';
import { LEFT_HOLDER_MS, RecentDepartures } from '../../../src/replication/recent-departures.js';
import { TombstonePolicy, type PurgeWitness } from '../../../src/replication/tombstone-policy.js';
import type { StoredRecord } from '../../../src/store/record.js';
import { testMember } from '../../support/in-process-cluster.js';

const GRACE_MS = 1_000;
const NOW_MS = 1_000_000;

/** Membership as seen from n1: joined or not, and the states of the members it knows. */
function witness(
  states: Record<string, MemberStateName>,
  joined = true,
): PurgeWitness & { generation: number } {
  return {
    selfName: 'n1',
    joined,
    generation: 0,
    members: () => Object.entries(states).map(([name, state]) => testMember(name, state)),
  };
}

function policyOf(
  cluster: PurgeWitness & { generation: number },
  wallClock: () => number = () => NOW_MS,
): TombstonePolicy {
  return new TombstonePolicy(
    GRACE_MS,
    cluster,
    new RecentDepartures(cluster, wallClock),
    wallClock,
  );
}

const policy = policyOf(witness({ n1: 'alive', n2: 'alive' }));

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

describe('when anything may be purged', () => {
  const allowed = (cluster: PurgeWitness & { generation: number }): boolean =>
    policyOf(cluster).purgesAllowed();

  it('once joined, while every member that has not left is alive', () => {
    expect(allowed(witness({ n1: 'alive', n2: 'alive', n3: 'left' }))).toBe(true);
    expect(allowed(witness({ n1: 'alive', n2: 'alive' }, false))).toBe(false);
    expect(allowed(witness({ n1: 'alive', n2: 'suspect' }))).toBe(false);
    expect(allowed(witness({ n1: 'alive', n2: 'dead' }))).toBe(false);
  });

  it('on a node that knows only itself, once it has been up for the grace period', () => {
    let nowMs = NOW_MS;
    const alone = policyOf(witness({ n1: 'alive' }), () => nowMs);
    expect(alone.purgesAllowed()).toBe(false);
    nowMs += GRACE_MS - 1;
    expect(alone.purgesAllowed()).toBe(false);
    nowMs += 1;
    expect(alone.purgesAllowed()).toBe(true);
  });

  it('not while a member that left lately may still be handing its partitions over', () => {
    let nowMs = NOW_MS;
    const states: Record<string, MemberStateName> = { n1: 'alive', n2: 'alive' };
    const cluster = witness(states);
    const leaving = policyOf(cluster, () => nowMs);
    expect(leaving.purgesAllowed()).toBe(true);
    states.n2 = 'left';
    cluster.generation++;
    expect(leaving.purgesAllowed()).toBe(false);
    nowMs += LEFT_HOLDER_MS;
    expect(leaving.purgesAllowed()).toBe(false);
    nowMs += 1;
    expect(leaving.purgesAllowed()).toBe(true);
  });
});
