// What one drain of the core hands the shell: datagrams to send, TCP work to do (push-pulls and
// fallback pings), events to publish, and when to call tick next.

import type { PingMessage, PushPullMessage } from '../wire/messages.js';
import type { MembershipEvent } from './events.js';
import type { PeerAddress } from './member.js';

export interface OutboundPacket {
  to: PeerAddress;
  /** One encoded datagram, at most packetBytesMax - packetOverheadBytes; the shell labels/seals it. */
  bytes: Uint8Array;
}

/**
 * A full-state sync for the shell to run over TCP: send `msg`, read the peer's push-pull back,
 * and report with pushPullResult(id, reply or null).
 */
export interface OutboundPushPull {
  id: number;
  to: PeerAddress;
  msg: PushPullMessage;
  /** Part of a join (the peer then announces us to the cluster). */
  join: boolean;
}

/**
 * A fallback probe for the shell to run over TCP: send `msg`, wait for an ack with the same
 * seqNo until `deadlineMs`, and report with streamPingResult(seqNo, ok).
 */
export interface OutboundStreamPing {
  to: PeerAddress;
  seqNo: number;
  msg: PingMessage;
  deadlineMs: number;
}

export interface SwimOutput {
  packets: OutboundPacket[];
  pushPulls: OutboundPushPull[];
  streamPings: OutboundStreamPing[];
  events: MembershipEvent[];
  /** Call tick at (or soon after) this time, on the same clock as nowMs. */
  nextDeadlineMs: number;
}
