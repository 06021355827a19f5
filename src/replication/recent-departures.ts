// Members that left lately. A member that leaves (SIGTERM, a scale-down) drops out of the layout
// as soon as its leave spreads, but hands its partitions to their new owners only afterwards, and
// answers peers' reads of them until it exits. For LEFT_HOLDER_MS after this node saw it leave,
// reads therefore ask it as a possible holder, and nothing is purged: a value it holds would come
// back once the delete that replaced it was forgotten. A member this node first sees already
// left went before this node knew it, and is taken to be long gone.

import type { ClusterView } from '../cluster/cluster-view.js';
import type { MemberStateName } from '../cluster/wire/messages.js';

/**
 * How long a member that left may still hold partitions: its shutdown finishes requests (5 s)
 * and hands off (30 s) within the chart's 60 s grace period.
 */
export const LEFT_HOLDER_MS = 60_000;

export class RecentDepartures {
  /** When this node saw each member leave, while the member stays left. */
  private readonly leftAtMs = new Map<string, number>();
  private states = new Map<string, MemberStateName>();
  private generation: number | undefined;

  constructor(
    private readonly cluster: Pick<ClusterView, 'members' | 'generation'>,
    /** A monotonic clock: a wall clock stepped back would hold purges off for as long. */
    private readonly clockMs: () => number = () => performance.now(),
  ) {}

  /** Members that left within LEFT_HOLDER_MS. */
  names(): string[] {
    this.update();
    return [...this.leftAtMs.keys()].filter((name) => this.isRecent(name));
  }

  /** Whether the member left within LEFT_HOLDER_MS. */
  has(name: string): boolean {
    this.update();
    return this.isRecent(name);
  }

  /** A member that left and refuses connections has exited: it holds nothing to ask for. */
  exited(name: string): void {
    this.leftAtMs.delete(name);
  }

  /**
   * Notes the leaves since the last look. Looked at on every use; calling it on each membership
   * event as well starts a member's window when it leaves, not when this node next needs it.
   */
  update(): void {
    const generation = this.cluster.generation;
    if (generation === this.generation) return;
    this.generation = generation;
    const nowMs = this.clockMs();
    const states = new Map<string, MemberStateName>();
    for (const member of this.cluster.members()) {
      states.set(member.name, member.state);
      const before = this.states.get(member.name);
      if (member.state !== 'left') this.leftAtMs.delete(member.name);
      else if (before !== undefined && before !== 'left') {
        this.leftAtMs.set(member.name, nowMs);
      }
    }
    for (const name of this.leftAtMs.keys()) if (!states.has(name)) this.leftAtMs.delete(name);
    this.states = states;
  }

  private isRecent(name: string): boolean {
    const at = this.leftAtMs.get(name);
    return at !== undefined && this.clockMs() - at <= LEFT_HOLDER_MS;
  }
}
