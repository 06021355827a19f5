// What the core tells the outside: membership changes as typed events (logging, metrics and
// replication subscribe to these), and cumulative counters the shell turns into metrics by
// taking differences. The core itself never logs or touches a metrics library.

import type { CodecErrorReason } from '../wire/codec-error.js';
import { MessageType, type MessageTypeName } from '../wire/messages.js';
import type { MemberView } from './member.js';

export type MembershipEvent =
  /** A member we did not know, alive. */
  | { type: 'joined'; member: MemberView }
  /** An alive member's address, port or metadata changed (it restarted, or set new metadata). */
  | { type: 'updated'; member: MemberView; previous: MemberView }
  | { type: 'suspect'; member: MemberView }
  /** Declared failed. Also emitted for a member first learned of (from a push-pull) as dead. */
  | { type: 'dead'; member: MemberView }
  /** Left gracefully: never a failure. */
  | { type: 'left'; member: MemberView }
  /** A suspect, dead or left member is alive again (maybe at a new address: compare `previous`). */
  | { type: 'alive-again'; member: MemberView; previous: MemberView }
  /** Gone from the table: force-removed, or evicted to make room. */
  | { type: 'removed'; member: MemberView; reason: 'forced' | 'evicted' }
  /** This node's Lifeguard health score changed (0 is healthy). */
  | { type: 'health'; score: number };

export type MembershipEventType = MembershipEvent['type'];

/** Why a decoded message was not acted on. */
export type MessageDropReason =
  /** A ping for another member name (the address now belongs to someone else). */
  | 'misdirected'
  /** A required field is empty or zero (no node name, no address or port). */
  | 'invalid'
  /** An alive whose protocol range does not overlap ours. */
  | 'incompatible'
  /** A message that has no meaning over UDP (push-pull) or an err. */
  | 'unexpected'
  /** More messages in one datagram than inboundMessagesPerPacketMax. */
  | 'too_many_parts'
  /** An ack or nack for no probe of ours (late, duplicated, or forged). */
  | 'stale_ack'
  /** A new member while the table is full of live members. */
  | 'table_full'
  /** A ping-req while relaysMax indirect probes are running. */
  | 'relays_full'
  /** An accusation about us we cannot beat (its incarnation is the largest the wire holds). */
  | 'incarnation_exhausted';

export type PacketDropReason = CodecErrorReason;

export interface SwimCounters {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: Record<MessageTypeName, number>;
  messagesReceived: Record<MessageTypeName, number>;
  /** Datagrams that did not decode, by the codec's reason. */
  packetsDropped: Record<PacketDropReason, number>;
  /** Messages that decoded but were refused, by reason. */
  messagesDropped: Record<MessageDropReason, number>;
  probes: number;
  probeFailures: number;
  indirectProbes: number;
  /** Probes answered only over TCP (the network may be dropping UDP). */
  streamPingRescues: number;
  nacksSent: number;
  nacksReceived: number;
  refutations: number;
  pushPullsStarted: number;
  pushPullsSucceeded: number;
  pushPullsFailed: number;
  /** Push-pulls not started because pushPullsInFlightMax were running. */
  pushPullsRefused: number;
  pushPullsReceived: number;
  reconnectAttempts: number;
  /** Push-pulls started because a member we did not know probed us. */
  strangerSyncs: number;
  /** Accusations older than a refutation we hold, answered with the refutation. */
  staleRumoursCorrected: number;
  broadcastsQueued: number;
  /** Broadcasts dropped because the queue was full. */
  broadcastsDropped: number;
  /** Output dropped because the shell did not drain it in time. */
  outboundPacketsDropped: number;
  eventsDropped: number;
  /** Seeds beyond joinSeedsMax in one join call. */
  joinSeedsIgnored: number;
}

const MESSAGE_TYPES: readonly MessageTypeName[] = [
  'ping',
  'indirectPing',
  'ack',
  'suspect',
  'alive',
  'dead',
  'pushPull',
  'compound',
  'nack',
  'err',
];

const PACKET_DROP_REASONS: readonly PacketDropReason[] = [
  'truncated',
  'trailing_bytes',
  'unknown_type',
  'bad_enum',
  'bad_boolean',
  'bad_utf8',
  'over_limit',
  'out_of_range',
  'nested_compound',
  'malformed',
];

const MESSAGE_DROP_REASONS: readonly MessageDropReason[] = [
  'misdirected',
  'invalid',
  'incompatible',
  'unexpected',
  'too_many_parts',
  'stale_ack',
  'table_full',
  'relays_full',
  'incarnation_exhausted',
];

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = 0;
  return out;
}

export function createCounters(): SwimCounters {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: zeros(MESSAGE_TYPES),
    messagesReceived: zeros(MESSAGE_TYPES),
    packetsDropped: zeros(PACKET_DROP_REASONS),
    messagesDropped: zeros(MESSAGE_DROP_REASONS),
    probes: 0,
    probeFailures: 0,
    indirectProbes: 0,
    streamPingRescues: 0,
    nacksSent: 0,
    nacksReceived: 0,
    refutations: 0,
    pushPullsStarted: 0,
    pushPullsSucceeded: 0,
    pushPullsFailed: 0,
    pushPullsRefused: 0,
    pushPullsReceived: 0,
    reconnectAttempts: 0,
    strangerSyncs: 0,
    staleRumoursCorrected: 0,
    broadcastsQueued: 0,
    broadcastsDropped: 0,
    outboundPacketsDropped: 0,
    eventsDropped: 0,
    joinSeedsIgnored: 0,
  };
}

/** Message type name by its wire number, for counting the parts of a packet we built. */
export const MESSAGE_TYPE_BY_NUMBER: ReadonlyMap<number, MessageTypeName> = new Map(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([name, n]) => [n, name]),
);
