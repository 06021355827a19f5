// What the rest of the node (HTTP API, readiness, replication) sees of cluster membership.

import type { MemberStateName } from './wire/messages.js';

export interface MemberView {
  name: string;
  addr: string;
  gossipPort: number;
  httpPort: number;
  state: MemberStateName;
  incarnation: number;
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
