// Every member computes the partition layout on its own, from its own partition count and
// replication factor. Members announce both in their gossip metadata, and each node holds the
// others' against its own; each difference is logged once per member and settings.
//
// - Partition count: no legitimate change goes through a mixed state (a data directory keeps the
//   count it was created with), so a difference is a node started by mistake with another count:
//   it places keys in other partitions, its reads miss what others wrote, anti-entropy compares
//   partitions that do not match. A node whose count differs from more of the announcing members
//   than share it (itself included) is the odd one out: it reports not ready, so clients are not
//   sent to it, and refuses the data requests that reach it anyway (see outvoted-guard.ts). With
//   a tie nobody can tell which side is wrong, and both keep serving.
// - Replication factor: differs for a while during a rolling change of it, and placements mend
//   through anti-entropy once every node runs with the new one. Logged only; readiness would halt
//   the rollout at its first pod.

import type { MemberView, PlacementSettings } from '../cluster/cluster-view.js';

export type SettingsDifference = 'partitions' | 'replicationFactor';

export class SettingsAgreement {
  private readonly reported = new Set<string>();
  private outvotedNow = false;
  /** The partition count most differing members announce, while outvoted. */
  private othersPartitions: number | undefined;

  constructor(
    private readonly selfName: string,
    private readonly own: PlacementSettings,
    private readonly onDifference: (
      member: MemberView,
      settings: PlacementSettings,
      difference: SettingsDifference,
    ) => void,
  ) {}

  /** Whether the last review found this node's partition count the odd one out. */
  get outvoted(): boolean {
    return this.outvotedNow;
  }

  /** Why this node must not serve data, while it is outvoted; undefined otherwise. */
  refusal(): string | undefined {
    if (!this.outvotedNow) return undefined;
    return (
      `this node has SHOAL_PARTITIONS=${this.own.partitions} and most members ` +
      `${this.othersPartitions ?? 'another count'}: it serves no data until it runs with theirs`
    );
  }

  /** Holds the members' announced settings against this node's; call on membership changes. */
  review(members: readonly MemberView[]): void {
    let agreeing = 1; // this node
    let differing = 0;
    const differingCounts = new Map<number, number>();
    for (const member of members) {
      const settings = member.settings;
      if (member.name === this.selfName || settings === undefined) continue;
      if (member.state === 'left' || member.state === 'dead') continue;
      const difference: SettingsDifference | undefined =
        settings.partitions !== this.own.partitions
          ? 'partitions'
          : settings.replicationFactor !== this.own.replicationFactor
            ? 'replicationFactor'
            : undefined;
      if (difference === 'partitions') {
        differing++;
        differingCounts.set(
          settings.partitions,
          (differingCounts.get(settings.partitions) ?? 0) + 1,
        );
      } else {
        agreeing++;
      }
      if (difference === undefined) continue;
      const id = `${member.name}/${settings.partitions}/${settings.replicationFactor}`;
      if (!this.reported.has(id)) {
        this.reported.add(id);
        this.onDifference(member, settings, difference);
      }
    }
    this.outvotedNow = differing > agreeing;
    this.othersPartitions = [...differingCounts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  }
}
