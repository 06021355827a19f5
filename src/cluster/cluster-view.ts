// What the rest of the node (HTTP API, readiness, replication) sees of cluster membership.

import type { MemberStateName } from './wire/messages.js';

export interface MemberView {
  name: string;
  addr: string;
  gossipPort: number;
  httpPort: number;
  state: MemberStateName;
  incarnation: number;
  /** The placement settings the member announces; absent when it does not say. */
  settings?: PlacementSettings;
}

/** What every member must share to place keys alike: each computes the layout on its own. */
export interface PlacementSettings {
  partitions: number;
  replicationFactor: number;
}

export type ForceRemoveOutcome = 'removed' | 'alive' | 'unknown';

export interface ClusterView {
  readonly selfName: string;
  /** Grows whenever the member list may have changed: views derived from it can be cached by it. */
  readonly generation: number;
  members(): MemberView[];
  /** Removes a dead or left member for good; refuses members that are alive or suspect. */
  forceRemove(name: string): ForceRemoveOutcome;
}

/** Where a member takes peer requests: the TCP side of its gossip port. */
export function peerAddr(member: Pick<MemberView, 'addr' | 'gossipPort'>): {
  addr: string;
  port: number;
} {
  return { addr: member.addr, port: member.gossipPort };
}
