// Placement settings across members: differences are reported once, and the node whose partition
// count most announcing members do not share is the one that stops being ready.

import { describe, expect, it } from 'vitest';
import type { MemberView, PlacementSettings } from '../../../src/cluster/cluster-view.js';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';
import { SettingsAgreement } from '../../../src/replication/settings-agreement.js';
import { testMember } from '../../support/in-process-cluster.js';

const STANDARD = { partitions: 256, replicationFactor: 3 };

function member(
  name: string,
  settings: PlacementSettings | undefined,
  state: MemberStateName = 'alive',
): MemberView {
  const view = testMember(name, state);
  return settings === undefined ? view : { ...view, settings };
}

function agreementOf(own: PlacementSettings) {
  const reported: string[] = [];
  const agreement = new SettingsAgreement('self', own, (m, s, difference) =>
    reported.push(`${m.name}:${s.partitions}/${s.replicationFactor}:${difference}`),
  );
  return { agreement, reported };
}

describe('placement settings agreement', () => {
  it('makes the odd one out not ready, and reports each difference once', () => {
    const members = [
      member('self', { partitions: 16, replicationFactor: 3 }),
      member('a', STANDARD),
      member('b', STANDARD),
    ];
    const { agreement, reported } = agreementOf({ partitions: 16, replicationFactor: 3 });
    agreement.review(members);
    agreement.review(members);
    expect(agreement.outvoted).toBe(true);
    expect(agreement.refusal()).toMatch(/SHOAL_PARTITIONS=16 and most members 256/);
    expect(reported).toEqual(['a:256/3:partitions', 'b:256/3:partitions']);
    // Back in line (the others left, say): it serves again.
    agreement.review([member('self', { partitions: 16, replicationFactor: 3 })]);
    expect(agreement.outvoted).toBe(false);
    expect(agreement.refusal()).toBeUndefined();
  });

  it('keeps serving where most share its partition count, naming the member that differs', () => {
    const { agreement, reported } = agreementOf(STANDARD);
    agreement.review([
      member('a', STANDARD),
      member('odd', { partitions: 64, replicationFactor: 3 }),
    ]);
    expect(agreement.outvoted).toBe(false);
    expect(agreement.refusal()).toBeUndefined();
    expect(reported).toEqual(['odd:64/3:partitions']);
  });

  it('only reports another replication factor (a rolling change of it passes through that)', () => {
    const { agreement, reported } = agreementOf({ partitions: 256, replicationFactor: 5 });
    agreement.review([member('a', STANDARD), member('b', STANDARD)]);
    expect(agreement.outvoted).toBe(false);
    expect(reported).toEqual(['a:256/3:replicationFactor', 'b:256/3:replicationFactor']);
  });

  it('keeps serving on a tie, and ignores members that left, are dead or do not say', () => {
    const { agreement } = agreementOf(STANDARD);
    agreement.review([member('other', { partitions: 16, replicationFactor: 3 })]);
    expect(agreement.outvoted).toBe(false);
    agreement.review([
      member('gone', { partitions: 16, replicationFactor: 3 }, 'left'),
      member('down', { partitions: 16, replicationFactor: 3 }, 'dead'),
      member('quiet', undefined),
    ]);
    expect(agreement.outvoted).toBe(false);
  });

  it('reports a member again when it comes back with yet other settings', () => {
    const { agreement, reported } = agreementOf(STANDARD);
    agreement.review([member('a', { partitions: 16, replicationFactor: 3 })]);
    agreement.review([member('a', { partitions: 32, replicationFactor: 3 })]);
    expect(reported).toEqual(['a:16/3:partitions', 'a:32/3:partitions']);
  });
});
