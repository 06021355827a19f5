import { describe, expect, it } from 'vitest';
import type { Member } from '../../../src/cluster/swim/member.js';
import { MemberTable } from '../../../src/cluster/swim/member-table.js';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';

function member(name: string, state: MemberStateName = 'alive', stateChangeMs = 0): Member {
  return {
    name,
    addr: '10.0.0.1',
    port: 7946,
    meta: new Uint8Array(0),
    incarnation: 1,
    state,
    stateChangeMs,
    protocol: { min: 1, max: 1, current: 1 },
  };
}

describe('MemberTable', () => {
  it('keeps counts per state as members come, change and go', () => {
    const t = new MemberTable(10, 10);
    t.add(member('a'));
    t.add(member('b'));
    t.add(member('c', 'dead'));
    expect([t.count('alive'), t.count('dead'), t.liveCount, t.size]).toEqual([2, 1, 2, 3]);
    t.setState(t.get('a')!, 'suspect', 5);
    expect([t.count('alive'), t.count('suspect'), t.liveCount]).toEqual([1, 1, 2]);
    expect(t.get('a')!.stateChangeMs).toBe(5);
    t.remove('b', false);
    expect([t.count('alive'), t.size]).toEqual([0, 2]);
    expect(t.members.map((m) => m.name).sort()).toEqual(['a', 'c']);
  });

  it('is full at its bound and refuses to grow past it', () => {
    const t = new MemberTable(2, 10);
    t.add(member('a'));
    expect(t.isFull).toBe(false);
    t.add(member('b'));
    expect(t.isFull).toBe(true);
    expect(() => t.add(member('c'))).toThrow();
    expect(t.size).toBe(2);
  });

  it('remembers force-removed members by incarnation, oldest forgotten first', () => {
    const t = new MemberTable(10, 2);
    for (const name of ['a', 'b', 'c']) {
      t.add(member(name, 'dead'));
      t.remove(name, true);
    }
    expect(t.isRemoved('a', 1)).toBe(false);
    expect(t.isRemoved('b', 1)).toBe(true);
    expect(t.isRemoved('c', 1)).toBe(true);
    expect(t.isRemoved('c', 2)).toBe(false);
  });

  it('finds the member gone longest', () => {
    const t = new MemberTable(10, 10);
    t.add(member('self'));
    t.add(member('x', 'dead', 50));
    t.add(member('y', 'left', 10));
    t.add(member('z', 'alive', 0));
    expect(t.longestGone('self')?.name).toBe('y');
  });
});
