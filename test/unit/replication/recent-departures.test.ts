// Which members left lately, as this node saw them go: asked as possible holders of what they
// had, and a bar to purges, for LEFT_HOLDER_MS.

import { describe, expect, it } from 'vitest';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';
import { LEFT_HOLDER_MS, RecentDepartures } from '../../../src/replication/recent-departures.js';
import { testMember } from '../../support/in-process-cluster.js';

function cluster(states: Record<string, MemberStateName>): {
  states: Record<string, MemberStateName>;
  view: { generation: number; members: () => ReturnType<typeof testMember>[] };
} {
  const view = {
    generation: 0,
    members: () => Object.entries(states).map(([name, state]) => testMember(name, state)),
  };
  return { states, view };
}

describe('recent departures', () => {
  it('holds a member from when it was seen to leave, for LEFT_HOLDER_MS', () => {
    let nowMs = 1_000;
    const { states, view } = cluster({ a: 'alive', b: 'alive' });
    const departures = new RecentDepartures(view, () => nowMs);
    expect(departures.names()).toEqual([]);
    states.b = 'left';
    view.generation++;
    departures.update();
    nowMs += LEFT_HOLDER_MS;
    expect(departures.names()).toEqual(['b']);
    expect(departures.has('b')).toBe(true);
    nowMs += 1;
    expect(departures.names()).toEqual([]);
    expect(departures.has('b')).toBe(false);
  });

  it('takes a member first seen already left to be long gone', () => {
    const { states, view } = cluster({ a: 'alive', gone: 'left' });
    const departures = new RecentDepartures(view, () => 1_000);
    expect(departures.names()).toEqual([]);
    // Learnt of later (a push-pull brings it), still already left.
    states.later = 'left';
    view.generation++;
    expect(departures.names()).toEqual([]);
  });

  it('forgets a member that exited, and one that came back', () => {
    const { states, view } = cluster({ a: 'alive', b: 'alive', c: 'alive' });
    const departures = new RecentDepartures(view, () => 1_000);
    departures.update();
    states.b = 'left';
    states.c = 'left';
    view.generation++;
    expect(departures.names().sort()).toEqual(['b', 'c']);
    departures.exited('b');
    states.c = 'alive';
    view.generation++;
    expect(departures.names()).toEqual([]);
  });
});
