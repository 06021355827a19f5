// One member as this node knows it, and the read-only snapshot of it that leaves the core.

import type { MemberStateName, ProtocolRange } from '../wire/messages.js';

/** Where a member's gossip socket listens (UDP and TCP share the port). */
export interface PeerAddress {
  addr: string;
  port: number;
}

/** The core's own record of a member; mutated only by the core. */
export interface Member {
  name: string;
  addr: string;
  port: number;
  meta: Uint8Array;
  incarnation: number;
  state: MemberStateName;
  /** When `state` last changed, on the caller's clock. */
  stateChangeMs: number;
  protocol: ProtocolRange;
}

/**
 * A copy of a member at one moment: what events and queries hand out. Read-only by type (not
 * frozen: a 1,000-member join makes a million of these, and freezing doubles their cost).
 */
export type MemberView = Readonly<Omit<Member, 'protocol'>> & {
  readonly protocol: Readonly<ProtocolRange>;
};

export function viewOf(member: Member): MemberView {
  return {
    name: member.name,
    addr: member.addr,
    port: member.port,
    meta: member.meta,
    incarnation: member.incarnation,
    state: member.state,
    stateChangeMs: member.stateChangeMs,
    protocol: member.protocol,
  };
}

export function addressKey(addr: string, port: number): string {
  return `${addr}|${port}`;
}
