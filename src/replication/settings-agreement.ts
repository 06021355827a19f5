// Every member computes the partition layout on its own, from its own partition count and
// replication factor. Members announce both in their gossip metadata, and each node holds the
// others' against its own; each difference is logged once per member and settings.
//
// - Partition count: no legitimate change goes through a mixed state (a data directory keeps the
//   count it was created with), so a difference is a node started by mistake with another count:
//   it places keys in other partitions, its reads miss what others wrote, anti-entropy compares
//   partitions that do not match. Every member that has not left votes for its count (a dead one
//   too: it keeps its place in the layout). A node whose count has fewer votes than another is
//   the odd one out: it reports not ready, so clients are not sent to it, and refuses the data
//   requests that reach it anyway (see outvoted-guard.ts). It is back in line only once its count
//   has more votes than any other; a tie from the start leaves every node serving, as nobody can
//   tell which side is wrong.
// - Replication factor: differs for a while during a rolling change of it, and placements mend
//   through anti-entropy once every node runs with the new one. Logged only; readiness would halt
//   the rollout at its first pod.

import type { MemberView, PlacementSettings } from '../cluster/cluster-view.js';

type SettingsDifference = 'partitions' | 'replicationFactor';

/** Whether a member files keys under the same partitions (one that does not say is taken to). */
export function sharesPartitioning(
  member: Pick<MemberView, 'settings'>,
  partitions: number,
): boolean {
  return member.settings === undefined || member.settings.partitions === partitions;
}

/**
 * Whether a member can take part in data requests now: it is alive and files keys as this node
 * does. One that announces another partition count (a misconfigured node, which refuses data
 * requests) holds nothing comparable and is left alone, as a member that is down would be.
 */
export function servesSamePartitions(member: MemberView, partitions: number): boolean {
  return member.state === 'alive' && sharesPartitioning(member, partitions);
}

export class SettingsAgreement {
  private readonly reported = new Set<string>();
  /** The partition count with the most votes while this node is outvoted; undefined when not. */
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
    return this.othersPartitions !== undefined;
  }

  /** Why this node must not serve data, while it is outvoted; undefined otherwise. */
  refusal(): string | undefined {
    if (this.othersPartitions === undefined) return undefined;
    return (
      `this node has SHOAL_PARTITIONS=${this.own.partitions}, more members run with ` +
      `${this.othersPartitions}: it serves no data until it runs with theirs`
    );
  }

  /** Holds the members' announced settings against this node's; call on membership changes. */
  review(members: readonly MemberView[]): void {
    // Votes per partition count: this node, and every member that has not left and says. A dead
    // member keeps its vote, as it keeps its place in the layout (its pod comes back).
    const votes = new Map<number, number>([[this.own.partitions, 1]]);
    for (const member of members) {
      const settings = member.settings;
      if (member.name === this.selfName || settings === undefined) continue;
      if (member.state === 'left') continue;
      votes.set(settings.partitions, (votes.get(settings.partitions) ?? 0) + 1);
      const difference: SettingsDifference | undefined =
        settings.partitions !== this.own.partitions
          ? 'partitions'
          : settings.replicationFactor !== this.own.replicationFactor
            ? 'replicationFactor'
            : undefined;
      if (difference === undefined) continue;
      const id = `${member.name}/${settings.partitions}/${settings.replicationFactor}`;
      if (!this.reported.has(id)) {
        this.reported.add(id);
        this.onDifference(member, settings, difference);
      }
    }
    const ours = votes.get(this.own.partitions) as number;
    // The other count with the most votes (on equal votes, the smaller count).
    let leading: number | undefined;
    let leadingVotes = 0;
    for (const [count, n] of votes) {
      if (count === this.own.partitions) continue;
      if (n > leadingVotes || (n === leadingVotes && count < (leading ?? Infinity))) {
        leading = count;
        leadingVotes = n;
      }
    }
    if (leadingVotes > ours) {
      // Another count has more votes than ours: this node is the one out of line.
      this.othersPartitions = leading;
    } else if (ours > leadingVotes) {
      // Back in line only with more votes than any other count. A tie keeps it out: a member
      // that left for a restart must not let the odd node serve (and count in quorums) again.
      this.othersPartitions = undefined;
    }
  }
}
