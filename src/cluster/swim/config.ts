// Every timing and limit of the SWIM + Lifeguard core, with the formula it feeds, its unit, and
// what moving it trades. Defaults are hashicorp/memberlist's DefaultLANConfig where memberlist has
// the setting, so its years of tuning on real LANs carry over; the rest are ours and say why.

import { PACKET_BYTES_MAX, PUSH_PULL_STATES_MAX } from '../wire/limits.js';

export interface SwimConfig {
  /**
   * Time between two probes (one member pinged per interval, round-robin over a shuffled list).
   * Scaled by the local health multiplier (awareness score + 1). Lower detects failures sooner
   * at the price of more probe traffic; it is also the unit of the suspicion timeout.
   */
  probeIntervalMs: number;
  /**
   * How long a direct ping waits for its ack before indirect probes start, scaled by the local
   * health multiplier. Should sit near the 99th percentile of round-trip time: too low and a
   * slow network looks like failures, too high and there is less of the interval left for the
   * indirect probes. Must be below probeIntervalMs.
   */
  probeTimeoutMs: number;
  /**
   * Members asked to ping a target that missed its direct ack (SWIM ping-req). More rules out
   * more lossy paths between us and the target, at the price of more packets per failed probe.
   */
  indirectChecks: number;
  /**
   * How long a member running an indirect probe for another waits for the target's ack before
   * sending the requester a nack. Must leave the nack time to arrive within the requester's probe
   * period, whose indirect part lasts probeIntervalMs - probeTimeoutMs: a nack that arrives after
   * it counts as missed and wrongly lowers the requester's health (with memberlist's timings,
   * probeTimeout for both, every nack for a really dead target arrives a network delay late).
   * Shorter answers sooner; too short calls slow targets unreachable.
   */
  indirectNackTimeoutMs: number;
  /**
   * Also try a failed probe over TCP (the shell's stream ping), as memberlist does, so that a
   * network that drops UDP but passes TCP is not mistaken for dead members.
   */
  tcpFallbackPing: boolean;
  /**
   * Time between dedicated gossip rounds (only when there is something to send). Lower spreads
   * news faster and sends more small packets.
   */
  gossipIntervalMs: number;
  /** Members each gossip round sends to: the fan-out of the epidemic. */
  gossipNodes: number;
  /**
   * How long a member that became dead still gets gossip, so that a member wrongly declared dead
   * hears about it and refutes. memberlist's GossipToTheDeadTime.
   */
  gossipToTheDeadMs: number;
  /**
   * Each broadcast is sent retransmitMult * ceil(log10(N + 1)) times (N: members believed alive
   * or suspect), enough for an epidemic to reach everyone with high probability. Higher is more
   * robust to loss and uses more bandwidth.
   */
  retransmitMult: number;
  /**
   * Minimum suspicion timeout = suspicionMult * max(1, log10(N)) * probeIntervalMs: the time a
   * suspect has to refute before it is declared dead, once enough members confirm the suspicion.
   * Higher means fewer false deaths and slower real ones.
   */
  suspicionMult: number;
  /**
   * The suspicion timeout starts at suspicionMaxTimeoutMult times the minimum and shrinks toward
   * it as k = suspicionMult - 2 independent members confirm (Lifeguard): timeout =
   * max(min, max - (max - min) * log(c + 1) / log(k + 1)) after c confirmations. A lone suspicious
   * (perhaps unhealthy) member alone thus waits long; one corroborated by others acts fast.
   */
  suspicionMaxTimeoutMult: number;
  /**
   * Ceiling of the local health multiplier (Lifeguard): the awareness score runs 0 ..
   * awarenessMaxMultiplier - 1, and probe interval and timeout are multiplied by score + 1. A
   * member that misses acks and nacks (probably itself overloaded or cut off) slows its own
   * probing instead of accusing healthy members.
   */
  awarenessMaxMultiplier: number;
  /**
   * Full-state sync with one random live member, over TCP, every pushPullIntervalMs scaled past
   * 32 members by ceil(log2(N) - log2(32)) + 1 (memberlist's pushPullScale), so that the cluster
   * as a whole does a bounded number of syncs. Repairs whatever gossip missed; costs a full
   * member list each way.
   */
  pushPullIntervalMs: number;
  /**
   * Every deadReconnectIntervalMs, a push-pull with one random dead member (as serf's reconnect
   * does), so a member that was only cut off is found again and a partition of any length heals.
   * Lower heals faster; each attempt costs one TCP connection, usually to an address that no
   * longer answers.
   */
  deadReconnectIntervalMs: number;
  /**
   * At most one push-pull per this interval with a member that probed us while unknown to us (it
   * missed our table, or its announcement missed us). One sync teaches us everything the stranger
   * knows, so more are rarely useful; the limit also keeps forged pings from making us send our
   * full state to arbitrary addresses.
   */
  strangerSyncIntervalMs: number;
  /**
   * Broadcasts waiting to be piggybacked. Past this the ones sent most often are dropped first
   * (push-pull repairs what they carried). memberlist leaves this to its user; serf uses 4,096.
   */
  broadcastQueueMax: number;
  /**
   * Members in the table, self and dead ones included. At the limit a new member evicts the member
   * that has been dead or left longest; if there is none it is refused (counted). Equal to the
   * wire's push-pull limit, so our full state always fits one push-pull.
   */
  membersMax: number;
  /**
   * Force-removed members remembered (name and incarnation) so that stale gossip or push-pull
   * cannot bring them back; the oldest is forgotten first.
   */
  removedMembersMax: number;
  /** Indirect probes we run for others at once. Past this, ping-reqs are dropped (counted). */
  relaysMax: number;
  /**
   * Push-pulls handed to the shell and not yet answered. Past this none are started (counted);
   * an answer that never comes frees its slot after pushPullResultTimeoutMs.
   */
  pushPullsInFlightMax: number;
  /** After this long without pushPullResult, a push-pull's slot is reclaimed. */
  pushPullResultTimeoutMs: number;
  /** Seeds contacted by one join call; more are ignored (counted). */
  joinSeedsMax: number;
  /**
   * Bytes of one datagram, everything included; the shell's label and seal are subtracted via
   * packetOverheadBytes. PACKET_BYTES_MAX by default (fits an overlay network's MTU).
   */
  packetBytesMax: number;
  /** Bytes the shell adds to every datagram (cluster label, AES-GCM seal); 0 when it adds none. */
  packetOverheadBytes: number;
  /**
   * Messages handled from one inbound datagram; the rest are dropped (counted). Our own
   * datagrams carry at most this many.
   */
  inboundMessagesPerPacketMax: number;
  /** Outbound packets held until the shell drains them; past this new ones are dropped (counted). */
  outboundPacketsMax: number;
  /** Events held until the shell drains them; past this new ones are dropped (counted). */
  eventsMax: number;
}

export const DEFAULT_SWIM_CONFIG: Readonly<SwimConfig> = Object.freeze({
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  indirectNackTimeoutMs: 400,
  tcpFallbackPing: true,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
  pushPullIntervalMs: 30_000,
  deadReconnectIntervalMs: 30_000,
  strangerSyncIntervalMs: 1_000,
  broadcastQueueMax: 4_096,
  membersMax: PUSH_PULL_STATES_MAX,
  removedMembersMax: 1_024,
  relaysMax: 256,
  pushPullsInFlightMax: 32,
  pushPullResultTimeoutMs: 60_000,
  joinSeedsMax: 64,
  packetBytesMax: PACKET_BYTES_MAX,
  packetOverheadBytes: 0,
  inboundMessagesPerPacketMax: 128,
  outboundPacketsMax: 4_096,
  eventsMax: 65_536,
});

/**
 * The largest single message the core ever sends (an alive with every field at its wire limit:
 * 1 + 4 + 256 + 256 + 2 + 514 + 3). Every datagram budget must hold at least this.
 */
export const GOSSIP_MESSAGE_BYTES_MAX = 1_036;

/** Push-pull is not scaled up to this many members (memberlist's pushPullScaleThreshold). */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/** A setting that cannot work, named, so the shell can report it at start-up. */
export class SwimConfigError extends Error {
  readonly code = 'SWIM_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'SwimConfigError';
  }
}

/** Defaults overlaid with `overrides`, checked. Throws SwimConfigError for a setting that cannot work. */
export function resolveSwimConfig(overrides: Partial<SwimConfig> = {}): SwimConfig {
  const config: SwimConfig = { ...DEFAULT_SWIM_CONFIG, ...overrides };
  const positive: (keyof SwimConfig)[] = [
    'probeIntervalMs',
    'probeTimeoutMs',
    'indirectNackTimeoutMs',
    'gossipIntervalMs',
    'pushPullIntervalMs',
    'deadReconnectIntervalMs',
    'strangerSyncIntervalMs',
    'pushPullResultTimeoutMs',
    'retransmitMult',
    'suspicionMult',
    'suspicionMaxTimeoutMult',
    'awarenessMaxMultiplier',
    'broadcastQueueMax',
    'membersMax',
    'removedMembersMax',
    'relaysMax',
    'pushPullsInFlightMax',
    'joinSeedsMax',
    'inboundMessagesPerPacketMax',
    'outboundPacketsMax',
    'eventsMax',
  ];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SwimConfigError(`${key} must be a positive number, got ${String(value)}`);
    }
  }
  for (const key of ['indirectChecks', 'gossipNodes', 'gossipToTheDeadMs'] as const) {
    if (!Number.isFinite(config[key]) || config[key] < 0) {
      throw new SwimConfigError(`${key} must be zero or more, got ${String(config[key])}`);
    }
  }
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    throw new SwimConfigError('probeTimeoutMs must be below probeIntervalMs');
  }
  if (config.indirectNackTimeoutMs >= config.probeIntervalMs - config.probeTimeoutMs) {
    throw new SwimConfigError(
      'indirectNackTimeoutMs must be below probeIntervalMs - probeTimeoutMs',
    );
  }
  if (config.membersMax < 2 || config.membersMax > PUSH_PULL_STATES_MAX) {
    throw new SwimConfigError(`membersMax must be 2..${PUSH_PULL_STATES_MAX}`);
  }
  if (config.inboundMessagesPerPacketMax < 2) {
    throw new SwimConfigError('inboundMessagesPerPacketMax must be at least 2');
  }
  if (config.packetBytesMax - config.packetOverheadBytes < GOSSIP_MESSAGE_BYTES_MAX) {
    throw new SwimConfigError(
      `packetBytesMax minus packetOverheadBytes must leave ${GOSSIP_MESSAGE_BYTES_MAX} bytes`,
    );
  }
  return config;
}

/** Minimum suspicion timeout: suspicionMult * max(1, log10(N)) * probeIntervalMs. */
export function suspicionTimeoutMs(config: SwimConfig, memberCount: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  return Math.floor(config.suspicionMult * nodeScale * config.probeIntervalMs);
}

/** Transmissions of each broadcast: retransmitMult * ceil(log10(N + 1)). */
export function retransmitLimit(config: SwimConfig, memberCount: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(memberCount + 1));
}

/** pushPullIntervalMs, times ceil(log2(N) - log2(32)) + 1 past 32 members. */
export function pushPullIntervalScaledMs(config: SwimConfig, memberCount: number): number {
  if (memberCount <= PUSH_PULL_SCALE_THRESHOLD) return config.pushPullIntervalMs;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * config.pushPullIntervalMs;
}
