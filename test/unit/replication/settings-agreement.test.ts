// Placement settings across members: differences are reported once, and the node whose partition
// count has fewer votes than another is the one that stops being ready and serving.

import { describe, expect, it } from 'vitest';
import type { MemberView, PlacementSettings } from '../../../src/cluster/cluster-view.js';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';
import { SettingsAgreement } from '../../../src/replication/settings-agreement.js';
import { testMember } from '../../support/in-process-cluster.js';

const STANDARD = { partitions: 256, replicationFactor: 3 };
const SIXTEEN = { partitions: 16, replicationFactor: 3 };

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
    const members = [member('self', SIXTEEN), member('a', STANDARD), member('b', STANDARD)];
    const { agreement, reported } = agreementOf(SIXTEEN);
    agreement.review(members);
    agreement.review(members);
    expect(agreement.outvoted).toBe(true);
    expect(agreement.refusal()).toMatch(/SHOAL_PARTITIONS=16, more members run with 256/);
    expect(reported).toEqual(['a:256/3:partitions', 'b:256/3:partitions']);
  });

  it('stays out on a tie once outvoted, and is back only with more votes than the others', () => {
    const { agreement } = agreementOf(SIXTEEN);
    agreement.review([member('a', STANDARD), member('b', STANDARD)]);
    expect(agreement.outvoted).toBe(true);
    // One of the others leaves for a restart: one vote each, and the odd node stays out.
    agreement.review([member('a', STANDARD, 'left'), member('b', STANDARD)]);
    expect(agreement.outvoted).toBe(true);
    expect(agreement.refusal()).toMatch(/more members run with 256/);
    // Its count gains the most votes (the others were rebuilt with 16, say): it serves again.
    agreement.review([member('a', SIXTEEN), member('b', STANDARD)]);
    expect(agreement.outvoted).toBe(false);
    expect(agreement.refusal()).toBeUndefined();
  });

  it('counts the votes of dead members, which keep their place in the layout', () => {
    const { agreement } = agreementOf(SIXTEEN);
    agreement.review([member('a', STANDARD, 'dead'), member('b', STANDARD, 'dead')]);
    expect(agreement.outvoted).toBe(true);
    // The other way round: two correct nodes down do not make the survivor the odd one.
    const survivor = agreementOf(STANDARD).agreement;
    survivor.review([
      member('a', STANDARD, 'dead'),
      member('b', STANDARD, 'dead'),
      member('c', SIXTEEN),
      member('d', SIXTEEN),
    ]);
    expect(survivor.outvoted).toBe(false);
  });

  it('names the count with the most votes, and keeps serving when no count has more than its own', () => {
    const split = agreementOf(STANDARD).agreement;
    split.review([
      member('a', SIXTEEN),
      member('b', SIXTEEN),
      member('c', { partitions: 64, replicationFactor: 3 }),
    ]);
    expect(split.refusal()).toMatch(/SHOAL_PARTITIONS=256, more members run with 16:/);
    const threeWays = agreementOf(STANDARD).agreement;
    threeWays.review([member('a', SIXTEEN), member('b', { partitions: 64, replicationFactor: 3 })]);
    expect(threeWays.outvoted).toBe(false);
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

  it('keeps serving on a tie, and ignores members that left or do not say', () => {
    const { agreement } = agreementOf(STANDARD);
    agreement.review([member('other', SIXTEEN)]);
    expect(agreement.outvoted).toBe(false);
    agreement.review([
      member('gone', SIXTEEN, 'left'),
      member('gone-too', SIXTEEN, 'left'),
      member('quiet', undefined),
      member('quiet-too', undefined),
    ]);
    expect(agreement.outvoted).toBe(false);
  });

  it('reports a member again when it comes back with yet other settings', () => {
    const { agreement, reported } = agreementOf(STANDARD);
    agreement.review([member('a', SIXTEEN)]);
    agreement.review([member('a', { partitions: 32, replicationFactor: 3 })]);
    expect(reported).toEqual(['a:16/3:partitions', 'a:32/3:partitions']);
  });
});
