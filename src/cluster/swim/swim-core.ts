// The SWIM + Lifeguard membership protocol as a pure state machine (the shape of etcd's raft):
// datagrams, TCP results and the time come in as method calls; datagrams to send, TCP work to do,
// membership events and the next deadline come out of takeOutput(). No sockets, timers, clock
// or Math.random here, so one process can run a thousand of these, seeded and repeatable.
//
// The protocol follows hashicorp/memberlist (state.go). Where it departs, it is for Kubernetes,
// where pods restart under their old names on new addresses, or to close a gap the simulator
// showed:
// - Dead and left members stay in the table until they return or are force-removed: replication
//   needs to know who is gone, and a StatefulSet pod comes back under the same name.
// - A member's address may change whenever its incarnation grows, whatever state we hold for it.
//   memberlist refuses address changes of members it does not consider dead or left, so a pod
//   that restarts on a new IP before its old record died stays unreachable. A restarting process
//   starts from an incarnation above any it had before (the shell persists or derives it), so
//   the newer incarnation is the newer process. The price: two live processes configured with the
//   same name fight, each refuting the other; that is a misconfiguration we cannot fix here.
// - Every dead member is retried now and then with a push-pull (as serf's reconnect does), and a
//   member that contacts us while we hold it suspect or dead is told so at once (it refutes), so
//   partitions of any length heal.
// - Contradictions are repaired where they show: a stale accusation is answered with the newer
//   alive we hold, and a probe from a member we have never heard of starts a push-pull with it.
//   Both close the few-in-a-thousand holes that epidemic gossip leaves under loss or mass joins.
// - A member running an indirect probe nacks before the requester's probe period ends, so a
//   nack counts (see indirectNackTimeoutMs).
// - A push-pull merge re-gossips only what changes a member we knew, plus the joiner's own state
//   when the push-pull is a join; members merely new to us are not re-gossiped, since whoever
//   told us already spreads them. This keeps a 1,000-member join from flooding every queue with
//   a thousand stale rumours.

import { isCodecError } from '../wire/codec-error.js';
import { encode, packCompound, splitPacket } from '../wire/codec.js';
import {
  COMPOUND_HEADER_BYTES,
  COMPOUND_PART_OVERHEAD_BYTES,
  META_BYTES_MAX,
} from '../wire/limits.js';
import {
  PROTOCOL_VERSION_CURRENT,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type AckMessage,
  type AliveMessage,
  type DeadMessage,
  type IndirectPingMessage,
  type MemberStateName,
  type Message,
  type PingMessage,
  type ProtocolRange,
  type PushNodeState,
  type PushPullMessage,
  type SuspectMessage,
} from '../wire/messages.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import {
  pushPullIntervalScaledMs,
  resolveSwimConfig,
  retransmitLimit,
  suspicionTimeoutMs,
  type SwimConfig,
} from './config.js';
import {
  createCounters,
  MESSAGE_TYPE_BY_NUMBER,
  type MembershipEvent,
  type MessageDropReason,
  type SwimCounters,
} from './events.js';
import { addressKey, viewOf, type Member, type MemberView, type PeerAddress } from './member.js';
import { MemberTable } from './member-table.js';
import type { OutboundPacket, OutboundPushPull, OutboundStreamPing, SwimOutput } from './output.js';
import { ProbeScheduler } from './probe-scheduler.js';
import { randomIntBelow, sampleWhere, type Random } from './random.js';
import { Suspicion } from './suspicion.js';

/** Incarnations and sequence numbers are u32 on the wire. */
const U32_MAX = 0xffff_ffff;
const EMPTY_BYTES = new Uint8Array(0);
const OUR_PROTOCOL: ProtocolRange = Object.freeze({
  min: PROTOCOL_VERSION_MIN,
  max: PROTOCOL_VERSION_MAX,
  current: PROTOCOL_VERSION_CURRENT,
});

export interface SwimSelf {
  name: string;
  /** Address and port peers reach our gossip socket at (the advertise address). */
  addr: string;
  port: number;
  /** Opaque metadata gossiped with our alive messages, at most META_BYTES_MAX bytes. */
  meta: Uint8Array;
}

export interface SwimCoreInit {
  self: SwimSelf;
  /**
   * Our starting incarnation. Must be above any this member name used before (persisted, or
   * derived from the boot time), so that our alive wins over stale news of an earlier life.
   */
  incarnation: number;
  config?: Partial<SwimConfig>;
  random: Random;
}

/** What forceRemove did. */
export type ForceRemoveResult =
  /** Removed here; if it was dead, the cluster is told it left. */
  | 'removed'
  | 'unknown'
  /** Refused: the member is alive or suspect (it would only come back). */
  | 'alive'
  /** Refused: a node cannot remove itself (it leaves instead). */
  | 'self';

/** Where news came from, which decides whether it is gossiped on. */
type NewsSource = 'gossip' | 'pushPull' | 'joinPushPull';

interface ProbeInFlight {
  target: string;
  to: PeerAddress;
  /** The target's incarnation when the probe began: a failure suspects that one. */
  incarnation: number;
  seqNo: number;
  ping: PingMessage;
  directDeadlineMs: number;
  endMs: number;
  indirect: boolean;
  expectedNacks: number;
  nacks: number;
}

/** An indirect probe we run for another member. */
interface Relay {
  originSeqNo: number;
  requester: PeerAddress;
  /** When to nack (if wanted and still no ack); Infinity once sent or not wanted. */
  nackAtMs: number;
  /** Until when a late ack is still worth relaying (the requester's probe may still be open). */
  expiresAtMs: number;
}

interface PendingPushPull {
  startedMs: number;
  /** addressKey of the peer, so a second sync with the same peer is not started meanwhile. */
  peer: string;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isLive(state: MemberStateName): boolean {
  return state === 'alive' || state === 'suspect';
}

function compatible(protocol: ProtocolRange): boolean {
  return (
    protocol.min <= protocol.max &&
    protocol.max >= PROTOCOL_VERSION_MIN &&
    protocol.min <= PROTOCOL_VERSION_MAX
  );
}

/** Reply to the address a message names, else to where the datagram came from (memberlist). */
function replyAddress(from: PeerAddress, addr: string, port: number): PeerAddress {
  return addr !== '' && port > 0 ? { addr, port } : { addr: from.addr, port: from.port };
}

export class SwimCore {
  readonly config: SwimConfig;
  /** Cumulative; the shell turns differences into metrics. */
  readonly counters: SwimCounters = createCounters();

  private readonly random: Random;
  private readonly table: MemberTable;
  private readonly me: Member;
  private readonly queue: BroadcastQueue;
  private readonly awareness: Awareness;
  private readonly scheduler: ProbeScheduler;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly relays = new Map<number, Relay>();
  private readonly pushPullsPending = new Map<number, PendingPushPull>();
  private readonly packetBudget: number;

  private probe: ProbeInFlight | null = null;
  private leaving = false;
  private started = false;
  private lastNowMs = 0;
  private seqNo: number;
  private pushPullId = 0;
  private nextProbeAtMs = 0;
  private nextGossipAtMs = 0;
  private nextPushPullAtMs = 0;
  private nextReconnectAtMs = 0;
  private nextStrangerSyncAtMs = 0;

  private outPackets: OutboundPacket[] = [];
  private outPushPulls: OutboundPushPull[] = [];
  private outStreamPings: OutboundStreamPing[] = [];
  private outEvents: MembershipEvent[] = [];

  constructor(init: SwimCoreInit) {
    this.config = resolveSwimConfig(init.config);
    this.random = init.random;
    const { self, incarnation } = init;
    if (self.name === '') throw new RangeError('a member name cannot be empty');
    if (self.addr === '') throw new RangeError('an advertise address cannot be empty');
    if (!Number.isInteger(self.port) || self.port < 1 || self.port > 0xffff) {
      throw new RangeError(`gossip port ${self.port} is not 1..65535`);
    }
    if (!Number.isInteger(incarnation) || incarnation < 0 || incarnation >= U32_MAX) {
      throw new RangeError(`incarnation ${incarnation} is not 0..${U32_MAX - 1}`);
    }
    this.me = {
      name: self.name,
      addr: self.addr,
      port: self.port,
      meta: Uint8Array.from(self.meta),
      incarnation,
      state: 'alive',
      stateChangeMs: 0,
      protocol: OUR_PROTOCOL,
    };
    this.table = new MemberTable(this.config.membersMax, this.config.removedMembersMax);
    this.table.add(this.me);
    this.queue = new BroadcastQueue(this.config.broadcastQueueMax);
    this.awareness = new Awareness(this.config.awarenessMaxMultiplier);
    this.scheduler = new ProbeScheduler(this.random);
    this.packetBudget = this.config.packetBytesMax - this.config.packetOverheadBytes;
    // A random start keeps a restarted process on the same address from taking acks meant for
    // its previous life as answers to its own probes.
    this.seqNo = randomIntBelow(this.random, U32_MAX);
    // Encoding our own alive now makes a name, address or metadata the wire cannot carry fail
    // here, at start-up, with the codec's error, instead of later inside the protocol.
    this.broadcast(this.me.name, this.aliveOf(this.me));
  }

  // -------------------------------------------------------------------------------------------
  // Queries.

  get name(): string {
    return this.me.name;
  }

  get incarnation(): number {
    return this.me.incarnation;
  }

  /** Lifeguard health score, 0 (healthy) .. awarenessMaxMultiplier - 1. */
  get healthScore(): number {
    return this.awareness.healthScore;
  }

  get isLeaving(): boolean {
    return this.leaving;
  }

  /**
   * After leave(): whether our leave message has been sent as often as any broadcast is (or
   * there is nobody left to tell), so the shell may shut down. The shell still bounds the wait.
   */
  get leaveComplete(): boolean {
    if (!this.leaving) return false;
    return !this.queue.has(this.me.name) || this.table.liveCount === 0;
  }

  /** Every member, self included, as snapshots. */
  members(): MemberView[] {
    return this.table.members.map(viewOf);
  }

  member(name: string): MemberView | undefined {
    const m = this.table.get(name);
    return m === undefined ? undefined : viewOf(m);
  }

  /** A member's state without copying it (for checks over many members). */
  stateOf(name: string): MemberStateName | undefined {
    return this.table.get(name)?.state;
  }

  memberCount(state?: MemberStateName): number {
    return state === undefined ? this.table.size : this.table.count(state);
  }

  /** Whether an alive member other than us has this address (the shell re-joins addresses that are not). */
  knowsAliveAt(addr: string, port: number): boolean {
    const key = addressKey(addr, port);
    for (const m of this.table.members) {
      if (m !== this.me && m.state === 'alive' && addressKey(m.addr, m.port) === key) return true;
    }
    return false;
  }

  /** Broadcasts waiting to be piggybacked. */
  get queuedBroadcasts(): number {
    return this.queue.size;
  }

  // -------------------------------------------------------------------------------------------
  // Inputs.

  /** One UDP datagram (label and seal already removed by the shell). Never throws for its content. */
  receive(from: PeerAddress, bytes: Uint8Array, nowMs: number): void {
    const now = this.clock(nowMs);
    this.counters.packetsReceived++;
    this.counters.bytesReceived += bytes.length;
    let parts: Message[];
    try {
      parts = splitPacket(bytes);
    } catch (err) {
      if (!isCodecError(err)) throw err;
      this.counters.packetsDropped[err.reason]++;
      return;
    }
    const limit = this.config.inboundMessagesPerPacketMax;
    if (parts.length > limit) this.drop('too_many_parts', parts.length - limit);
    const n = Math.min(parts.length, limit);
    for (let i = 0; i < n; i++) {
      const msg = parts[i] as Message;
      this.counters.messagesReceived[msg.type]++;
      this.handle(from, msg, now);
    }
  }

  /**
   * A push-pull a peer opened over TCP. Merges its state, then answers with ours (merging first
   * means our answer already carries any refutation the peer's news provoked, so one exchange
   * heals both sides).
   */
  receivePushPull(_from: PeerAddress, msg: PushPullMessage, nowMs: number): PushPullMessage {
    const now = this.clock(nowMs);
    this.counters.pushPullsReceived++;
    this.counters.messagesReceived.pushPull++;
    this.merge(msg.states, now, msg.join ? 'joinPushPull' : 'pushPull');
    return this.localState(false);
  }

  /** The outcome of a push-pull we asked for: the peer's state, or null if it failed. */
  pushPullResult(id: number, reply: PushPullMessage | null, nowMs: number): void {
    const now = this.clock(nowMs);
    if (!this.pushPullsPending.delete(id)) return;
    if (reply === null || reply.type !== 'pushPull') {
      this.counters.pushPullsFailed++;
      return;
    }
    this.counters.pushPullsSucceeded++;
    this.counters.messagesReceived.pushPull++;
    this.merge(reply.states, now, 'pushPull');
  }

  /** A ping a peer sent over TCP (its fallback probe). Returns the ack to write back, or null. */
  receiveStreamPing(_from: PeerAddress, msg: PingMessage, nowMs: number): AckMessage | null {
    this.clock(nowMs);
    this.counters.messagesReceived.ping++;
    if (msg.target !== '' && msg.target !== this.me.name) {
      this.drop('misdirected');
      return null;
    }
    this.counters.messagesSent.ack++;
    return { type: 'ack', seqNo: msg.seqNo, payload: EMPTY_BYTES };
  }

  /** The outcome of a fallback TCP ping: whether the target acked before the deadline. */
  streamPingResult(seqNo: number, ok: boolean, nowMs: number): void {
    this.clock(nowMs);
    const probe = this.probe;
    if (!ok || probe === null || probe.seqNo !== seqNo) return;
    this.counters.streamPingRescues++;
    this.probeSucceeded();
  }

  /** Runs whatever is due: probe steps, suspicion timeouts, gossip, push-pull, reconnects. */
  tick(nowMs: number): void {
    const now = this.clock(nowMs);
    for (const [name, suspicion] of this.suspicions) {
      if (suspicion.deadlineMs <= now) this.suspicionExpired(name, now);
    }
    for (const [seqNo, relay] of this.relays) {
      if (relay.nackAtMs <= now) {
        relay.nackAtMs = Infinity;
        this.counters.nacksSent++;
        this.send(relay.requester, encode({ type: 'nack', seqNo: relay.originSeqNo }), []);
      }
      if (relay.expiresAtMs <= now) this.relays.delete(seqNo);
    }
    const probe = this.probe;
    if (probe !== null) {
      if (!probe.indirect && now >= probe.directDeadlineMs) this.probeIndirectly(probe);
      if (now >= probe.endMs) this.probeFailed(probe, now);
    }
    if (this.probe === null && !this.leaving && now >= this.nextProbeAtMs) this.startProbe(now);
    if (now >= this.nextGossipAtMs) {
      this.nextGossipAtMs = now + this.config.gossipIntervalMs;
      this.gossip(now);
    }
    if (now >= this.nextPushPullAtMs) {
      this.nextPushPullAtMs = now + pushPullIntervalScaledMs(this.config, this.table.liveCount);
      if (!this.leaving) this.pushPullWithRandomMember(now);
    }
    if (now >= this.nextReconnectAtMs) {
      this.nextReconnectAtMs = now + this.config.deadReconnectIntervalMs;
      if (!this.leaving) this.reconnectRandomDead(now);
    }
  }

  /**
   * Push-pulls (join = true) with each seed; the shell reports each with pushPullResult. Seeds at
   * our own address are skipped. Returns how many were started.
   */
  join(seeds: readonly PeerAddress[], nowMs: number): number {
    const now = this.clock(nowMs);
    const selfKey = addressKey(this.me.addr, this.me.port);
    const seen = new Set<string>([selfKey]);
    let started = 0;
    for (const seed of seeds) {
      const key = addressKey(seed.addr, seed.port);
      if (seen.has(key)) continue;
      seen.add(key);
      if (started >= this.config.joinSeedsMax) {
        this.counters.joinSeedsIgnored++;
        continue;
      }
      if (this.startPushPull({ addr: seed.addr, port: seed.port }, true, now)) started++;
    }
    return started;
  }

  /**
   * Graceful leave: tells the cluster we left (members mark us `left`, never dead). We stop
   * probing and syncing but keep answering and gossiping until the shell stops calling us.
   */
  leave(nowMs: number): void {
    const now = this.clock(nowMs);
    if (this.leaving) return;
    this.leaving = true;
    this.probe = null;
    this.table.setState(this.me, 'left', now);
    const msg: DeadMessage = {
      type: 'dead',
      incarnation: this.me.incarnation,
      node: this.me.name,
      from: this.me.name,
    };
    this.broadcast(this.me.name, msg);
    this.gossip(now);
  }

  /**
   * An operator removes a dead or left member for good (like `consul force-leave`). A dead one
   * is announced to the cluster as left, so nobody treats it as a failure any more; it is then
   * dropped here and remembered, so stale news cannot bring it back. Only an alive message with
   * a higher incarnation (the member really returned) re-adds it.
   */
  forceRemove(name: string): ForceRemoveResult {
    if (name === this.me.name) return 'self';
    const m = this.table.get(name);
    if (m === undefined) return 'unknown';
    if (isLive(m.state)) return 'alive';
    if (m.state === 'dead') {
      this.broadcast(name, { type: 'dead', incarnation: m.incarnation, node: name, from: name });
    }
    this.removeMember(m, 'forced');
    return 'removed';
  }

  /** New metadata for us: a new incarnation, gossiped. Throws for meta over META_BYTES_MAX. */
  setMeta(meta: Uint8Array): void {
    if (meta.length > META_BYTES_MAX) {
      throw new RangeError(`metadata of ${meta.length} bytes is over ${META_BYTES_MAX}`);
    }
    if (this.leaving) throw new Error('cannot change metadata after leaving');
    if (this.me.incarnation >= U32_MAX) throw new RangeError('incarnation exhausted');
    this.me.meta = Uint8Array.from(meta);
    this.me.incarnation++;
    this.broadcast(this.me.name, this.aliveOf(this.me));
  }

  // -------------------------------------------------------------------------------------------
  // Output.

  /** Everything produced since the last call, and when to tick next. */
  takeOutput(): SwimOutput {
    const output: SwimOutput = {
      packets: this.outPackets,
      pushPulls: this.outPushPulls,
      streamPings: this.outStreamPings,
      events: this.outEvents,
      nextDeadlineMs: this.nextDeadlineMs(),
    };
    this.outPackets = [];
    this.outPushPulls = [];
    this.outStreamPings = [];
    this.outEvents = [];
    return output;
  }

  /** When tick has work next; 0 before the first input (tick at once). */
  nextDeadlineMs(): number {
    if (!this.started) return 0;
    let deadline = Infinity;
    const probe = this.probe;
    if (probe !== null) {
      deadline = probe.indirect ? probe.endMs : probe.directDeadlineMs;
    } else if (!this.leaving) {
      deadline = this.nextProbeAtMs;
    }
    // With nothing to gossip the gossip tick would do nothing; it is re-armed as soon as a
    // broadcast is queued (that call's drain reports it).
    if (this.queue.size > 0) deadline = Math.min(deadline, this.nextGossipAtMs);
    if (!this.leaving) {
      deadline = Math.min(deadline, this.nextPushPullAtMs);
      if (this.table.count('dead') > 0) deadline = Math.min(deadline, this.nextReconnectAtMs);
    }
    for (const suspicion of this.suspicions.values()) {
      deadline = Math.min(deadline, suspicion.deadlineMs);
    }
    for (const relay of this.relays.values()) {
      deadline = Math.min(deadline, relay.nackAtMs, relay.expiresAtMs);
    }
    return deadline;
  }

  // -------------------------------------------------------------------------------------------
  // Time.

  /** Starts the timers on first use (staggered, so members do not act in lockstep); never runs backwards. */
  private clock(nowMs: number): number {
    if (!this.started) {
      this.started = true;
      this.lastNowMs = nowMs;
      this.me.stateChangeMs = nowMs;
      const c = this.config;
      this.nextProbeAtMs = nowMs + this.random.next() * c.probeIntervalMs;
      this.nextGossipAtMs = nowMs + this.random.next() * c.gossipIntervalMs;
      this.nextPushPullAtMs = nowMs + this.random.next() * c.pushPullIntervalMs;
      this.nextReconnectAtMs = nowMs + this.random.next() * c.deadReconnectIntervalMs;
    }
    if (nowMs > this.lastNowMs) this.lastNowMs = nowMs;
    return this.lastNowMs;
  }

  // -------------------------------------------------------------------------------------------
  // Inbound messages.

  private handle(from: PeerAddress, msg: Message, now: number): void {
    switch (msg.type) {
      case 'ping':
        this.onPing(from, msg, now);
        return;
      case 'indirectPing':
        this.onIndirectPing(from, msg, now);
        return;
      case 'ack':
        this.onAck(msg.seqNo);
        return;
      case 'nack':
        this.onNack(msg.seqNo);
        return;
      case 'alive':
        this.onAlive(msg, now, 'gossip');
        return;
      case 'suspect':
        this.onSuspect(msg, now, from);
        return;
      case 'dead':
        this.onDead(msg, now, from);
        return;
      case 'err':
        // Only meaningful as an answer on a stream; over UDP it is noise. Counted as received.
        return;
      case 'pushPull':
      case 'compound':
        this.drop('unexpected');
        return;
    }
  }

  private onPing(from: PeerAddress, msg: PingMessage, now: number): void {
    if (msg.target !== '' && msg.target !== this.me.name) {
      this.drop('misdirected');
      return;
    }
    const extras: Uint8Array[] = [];
    const replyTo = replyAddress(from, msg.sourceAddr, msg.sourcePort);
    const sender = msg.source === this.me.name ? undefined : this.table.get(msg.source);
    if (sender !== undefined && (sender.state === 'suspect' || sender.state === 'dead')) {
      // A member we hold suspect or dead is plainly running: tell it, so it refutes now rather
      // than after the rumour happens to reach it (this is what heals a partition's two sides).
      extras.push(encode(this.suspectOf(sender)));
    } else if (sender === undefined && msg.source !== '' && msg.source !== this.me.name) {
      this.syncWithStranger(msg.source, replyTo, now);
    }
    const ack: AckMessage = { type: 'ack', seqNo: msg.seqNo, payload: EMPTY_BYTES };
    this.send(replyTo, encode(ack), extras);
  }

  /**
   * A member we have never heard of probes us: it knows us, we do not know it, so our views
   * differ (its announcement missed us, as happens to a few members when many join at once).
   * One push-pull with it repairs that now instead of at the next periodic sync, which at a
   * thousand members is minutes away. At most one per strangerSyncIntervalMs and per peer at a
   * time, and never for a member an operator removed (it returns with its own, newer alive).
   */
  private syncWithStranger(name: string, at: PeerAddress, now: number): void {
    if (this.leaving || now < this.nextStrangerSyncAtMs || this.table.wasRemoved(name)) return;
    const key = addressKey(at.addr, at.port);
    for (const pending of this.pushPullsPending.values()) if (pending.peer === key) return;
    if (!this.startPushPull(at, false, now)) return;
    this.counters.strangerSyncs++;
    this.nextStrangerSyncAtMs = now + this.config.strangerSyncIntervalMs;
  }

  private onIndirectPing(from: PeerAddress, msg: IndirectPingMessage, now: number): void {
    if (msg.target === '' || msg.targetAddr === '' || msg.targetPort === 0) {
      this.drop('invalid');
      return;
    }
    const requester = replyAddress(from, msg.sourceAddr, msg.sourcePort);
    if (msg.target === this.me.name) {
      // Asked to probe ourselves: we are the answer.
      this.send(requester, encode({ type: 'ack', seqNo: msg.seqNo, payload: EMPTY_BYTES }), []);
      return;
    }
    if (this.relays.size >= this.config.relaysMax) {
      this.drop('relays_full');
      return;
    }
    const seqNo = this.nextSeqNo();
    this.relays.set(seqNo, {
      originSeqNo: msg.seqNo,
      requester,
      nackAtMs: msg.wantNack ? now + this.config.indirectNackTimeoutMs : Infinity,
      expiresAtMs: now + this.config.probeIntervalMs,
    });
    const ping: PingMessage = {
      type: 'ping',
      seqNo,
      target: msg.target,
      source: this.me.name,
      sourceAddr: this.me.addr,
      sourcePort: this.me.port,
    };
    this.send({ addr: msg.targetAddr, port: msg.targetPort }, encode(ping), []);
  }

  private onAck(seqNo: number): void {
    if (this.probe !== null && this.probe.seqNo === seqNo) {
      this.probeSucceeded();
      return;
    }
    const relay = this.relays.get(seqNo);
    if (relay !== undefined) {
      this.relays.delete(seqNo);
      const ack: AckMessage = { type: 'ack', seqNo: relay.originSeqNo, payload: EMPTY_BYTES };
      this.send(relay.requester, encode(ack), []);
      return;
    }
    this.drop('stale_ack');
  }

  private onNack(seqNo: number): void {
    if (this.probe !== null && this.probe.seqNo === seqNo && this.probe.indirect) {
      this.probe.nacks++;
      this.counters.nacksReceived++;
      return;
    }
    this.drop('stale_ack');
  }

  private onAlive(msg: AliveMessage, now: number, source: NewsSource): void {
    if (msg.node === '' || msg.addr === '' || msg.port === 0) {
      this.drop('invalid');
      return;
    }
    if (!compatible(msg.protocol)) {
      this.drop('incompatible');
      return;
    }
    if (msg.node === this.me.name) {
      this.onAliveAboutSelf(msg);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined) {
      if (this.table.isRemoved(msg.node, msg.incarnation)) return;
      const added = this.addMember(
        {
          name: msg.node,
          addr: msg.addr,
          port: msg.port,
          meta: msg.meta,
          incarnation: msg.incarnation,
          state: 'alive',
          stateChangeMs: now,
          protocol: { ...msg.protocol },
        },
        true,
      );
      if (added === undefined) return;
      this.emit({ type: 'joined', member: viewOf(added) });
      if (source !== 'pushPull') this.broadcast(msg.node, msg);
      return;
    }
    if (msg.incarnation <= m.incarnation) return;
    const previous = viewOf(m);
    const moved = m.addr !== msg.addr || m.port !== msg.port || !bytesEqual(m.meta, msg.meta);
    m.incarnation = msg.incarnation;
    m.addr = msg.addr;
    m.port = msg.port;
    m.meta = msg.meta;
    m.protocol = { ...msg.protocol };
    this.suspicions.delete(m.name);
    this.table.setState(m, 'alive', now);
    this.broadcast(m.name, msg);
    if (previous.state !== 'alive') {
      this.emit({ type: 'alive-again', member: viewOf(m), previous });
    } else if (moved) {
      this.emit({ type: 'updated', member: viewOf(m), previous });
    }
  }

  private onAliveAboutSelf(msg: AliveMessage): void {
    if (this.leaving || msg.incarnation < this.me.incarnation) return;
    const same =
      msg.incarnation === this.me.incarnation &&
      msg.addr === this.me.addr &&
      msg.port === this.me.port &&
      bytesEqual(msg.meta, this.me.meta);
    // Anything else is another version of us (an earlier life, or a forged one): outbid it.
    if (!same) this.refute(msg.incarnation);
  }

  private onSuspect(msg: SuspectMessage, now: number, from: PeerAddress | undefined): void {
    if (msg.node === '' || msg.from === '') {
      this.drop('invalid');
      return;
    }
    if (msg.node === this.me.name) {
      this.accused(msg.incarnation, from);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined) return;
    if (msg.incarnation < m.incarnation) {
      this.correctStaleRumour(m, from);
      return;
    }
    const suspicion = this.suspicions.get(msg.node);
    if (suspicion !== undefined) {
      // Re-gossip only new confirmations, so others can count them too.
      if (suspicion.confirm(msg.from)) this.broadcast(msg.node, msg);
      return;
    }
    if (m.state !== 'alive') return;
    m.incarnation = msg.incarnation;
    this.table.setState(m, 'suspect', now);
    const n = this.table.liveCount;
    // k: confirmations that drive the timer to its minimum. Aim two short of suspicionMult since
    // our own probe of the suspect is out of phase with the others'; expect none when there are
    // not enough other members (n - 2: without us and the suspect) to give them.
    let k = this.config.suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const minMs = suspicionTimeoutMs(this.config, n);
    const maxMs = this.config.suspicionMaxTimeoutMult * minMs;
    this.suspicions.set(m.name, new Suspicion(msg.from, k, minMs, maxMs, now));
    this.broadcast(m.name, msg);
    this.emit({ type: 'suspect', member: viewOf(m) });
  }

  private onDead(msg: DeadMessage, now: number, from: PeerAddress | undefined): void {
    if (msg.node === '' || msg.from === '') {
      this.drop('invalid');
      return;
    }
    if (msg.node === this.me.name) {
      this.accused(msg.incarnation, from);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined) return;
    if (msg.incarnation < m.incarnation) {
      this.correctStaleRumour(m, from);
      return;
    }
    const left = msg.from === msg.node;
    // Left is final for an incarnation; dead may still turn out to have been a leave.
    if (m.state === 'left' || (m.state === 'dead' && !left)) return;
    this.markGone(m, msg.incarnation, left ? 'left' : 'dead', now);
    this.broadcast(m.name, msg);
  }

  /**
   * Whoever passed us an accusation older than the refutation we hold still believes it: its
   * copy of the refutation was lost (at 10% loss a few members in a thousand miss a given
   * rumour), and its suspicion timer will declare a live member dead. Answering the sender alone
   * with what we hold costs one datagram per stale message and repairs it before that happens.
   */
  private correctStaleRumour(m: Member, from: PeerAddress | undefined): void {
    if (from === undefined || m.state !== 'alive') return;
    this.counters.staleRumoursCorrected++;
    this.send(from, encode(this.aliveOf(m)), []);
  }

  /** Someone says we are suspect, dead or left at `incarnation`. */
  private accused(incarnation: number, from: PeerAddress | undefined): void {
    if (this.leaving) return;
    if (incarnation < this.me.incarnation) {
      // Stale news about an earlier incarnation: whoever passed it on may hold it still, so
      // answer it (alone: nobody else needs to hear it) with what is current.
      if (from !== undefined) this.send(from, encode(this.aliveOf(this.me)), []);
      return;
    }
    this.refute(incarnation);
  }

  /** Outbids an accusation or a stale version of us with a higher incarnation, gossiped. */
  private refute(accusedIncarnation: number): void {
    const incarnation = Math.max(this.me.incarnation, accusedIncarnation) + 1;
    if (incarnation > U32_MAX) {
      this.drop('incarnation_exhausted');
      return;
    }
    this.me.incarnation = incarnation;
    this.counters.refutations++;
    // Being accused is a sign we may be the slow one (Lifeguard).
    this.applyHealthDelta(1);
    this.broadcast(this.me.name, this.aliveOf(this.me));
  }

  // -------------------------------------------------------------------------------------------
  // Push-pull.

  private merge(states: readonly PushNodeState[], now: number, source: NewsSource): void {
    for (const s of states) {
      if (s.name === '' || s.addr === '' || s.port === 0) {
        this.drop('invalid');
        continue;
      }
      switch (s.state) {
        case 'alive':
          this.onAlive(
            {
              type: 'alive',
              incarnation: s.incarnation,
              node: s.name,
              addr: s.addr,
              port: s.port,
              meta: s.meta,
              protocol: s.protocol,
            },
            now,
            source,
          );
          break;
        case 'left':
          // A left member we never knew is of no use to us; one we know is updated.
          if (s.name === this.me.name || this.table.get(s.name) !== undefined) {
            this.onDead(
              { type: 'dead', incarnation: s.incarnation, node: s.name, from: s.name },
              now,
              undefined,
            );
          }
          break;
        case 'suspect':
        case 'dead':
          this.mergeFailed(s, now, source);
          break;
      }
    }
  }

  /**
   * A peer holds `s` suspect or dead. Of a member we know we only grow suspicious (memberlist's
   * choice: it may be the peer that is cut off, and the member gets its chance to refute). One we
   * did not know is recorded as the peer holds it, so that every member's table, dead entries
   * included, converges (replication places data by it).
   */
  private mergeFailed(s: PushNodeState, now: number, source: NewsSource): void {
    if (s.name === this.me.name) {
      this.accused(s.incarnation, undefined);
      return;
    }
    if (this.table.get(s.name) !== undefined) {
      this.onSuspect(
        { type: 'suspect', incarnation: s.incarnation, node: s.name, from: this.me.name },
        now,
        undefined,
      );
      return;
    }
    if (s.state === 'suspect') {
      // We will probe it ourselves soon enough.
      this.onAlive(
        {
          type: 'alive',
          incarnation: s.incarnation,
          node: s.name,
          addr: s.addr,
          port: s.port,
          meta: s.meta,
          protocol: s.protocol,
        },
        now,
        source === 'joinPushPull' ? 'pushPull' : source,
      );
      return;
    }
    if (this.table.isRemoved(s.name, s.incarnation)) return;
    const added = this.addMember(
      {
        name: s.name,
        addr: s.addr,
        port: s.port,
        meta: s.meta,
        incarnation: s.incarnation,
        state: 'dead',
        stateChangeMs: now,
        protocol: { ...s.protocol },
      },
      false,
    );
    if (added !== undefined) this.emit({ type: 'dead', member: viewOf(added) });
  }

  private localState(join: boolean): PushPullMessage {
    const states: PushNodeState[] = this.table.members.map((m) => ({
      name: m.name,
      addr: m.addr,
      port: m.port,
      meta: m.meta,
      incarnation: m.incarnation,
      state: m.state,
      protocol: m.protocol,
    }));
    return { type: 'pushPull', join, states };
  }

  private startPushPull(to: PeerAddress, join: boolean, now: number): boolean {
    for (const [id, pending] of this.pushPullsPending) {
      if (now - pending.startedMs >= this.config.pushPullResultTimeoutMs) {
        this.pushPullsPending.delete(id);
        this.counters.pushPullsFailed++;
      }
    }
    if (this.pushPullsPending.size >= this.config.pushPullsInFlightMax) {
      this.counters.pushPullsRefused++;
      return false;
    }
    this.pushPullId = this.pushPullId >= Number.MAX_SAFE_INTEGER ? 1 : this.pushPullId + 1;
    const id = this.pushPullId;
    this.pushPullsPending.set(id, { startedMs: now, peer: addressKey(to.addr, to.port) });
    this.outPushPulls.push({ id, to, msg: this.localState(join), join });
    this.counters.pushPullsStarted++;
    this.counters.messagesSent.pushPull++;
    return true;
  }

  private pushPullWithRandomMember(now: number): void {
    const [peer] = sampleWhere(
      this.random,
      this.table.members,
      1,
      (m) => m !== this.me && m.state === 'alive',
    );
    if (peer !== undefined) this.startPushPull({ addr: peer.addr, port: peer.port }, false, now);
  }

  private reconnectRandomDead(now: number): void {
    if (this.table.count('dead') === 0) return;
    const [peer] = sampleWhere(this.random, this.table.members, 1, (m) => m.state === 'dead');
    if (peer === undefined) return;
    this.counters.reconnectAttempts++;
    this.startPushPull({ addr: peer.addr, port: peer.port }, false, now);
  }

  // -------------------------------------------------------------------------------------------
  // Probing.

  private startProbe(now: number): void {
    const multiplier = this.awareness.multiplier;
    this.nextProbeAtMs = now + this.config.probeIntervalMs * multiplier;
    const name = this.scheduler.next(
      (n) => {
        const m = this.table.get(n);
        return m !== undefined && m !== this.me && isLive(m.state);
      },
      () => this.table.members.filter((m) => m !== this.me).map((m) => m.name),
    );
    const target = name === undefined ? undefined : this.table.get(name);
    if (target === undefined) return;
    const seqNo = this.nextSeqNo();
    const ping: PingMessage = {
      type: 'ping',
      seqNo,
      target: target.name,
      source: this.me.name,
      sourceAddr: this.me.addr,
      sourcePort: this.me.port,
    };
    const to = { addr: target.addr, port: target.port };
    this.probe = {
      target: target.name,
      to,
      incarnation: target.incarnation,
      seqNo,
      ping,
      directDeadlineMs: now + this.config.probeTimeoutMs * multiplier,
      endMs: now + this.config.probeIntervalMs * multiplier,
      indirect: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.counters.probes++;
    // Buddy system (Lifeguard): a suspect we probe learns of the suspicion with the ping, and
    // can refute at once instead of waiting for the rumour to reach it.
    const extras = target.state === 'suspect' ? [encode(this.suspectOf(target))] : [];
    this.send(to, encode(ping), extras);
  }

  private probeIndirectly(probe: ProbeInFlight): void {
    probe.indirect = true;
    this.counters.indirectProbes++;
    const peers = sampleWhere(
      this.random,
      this.table.members,
      this.config.indirectChecks,
      (m) => m !== this.me && m.name !== probe.target && m.state === 'alive',
    );
    for (const peer of peers) {
      const req: IndirectPingMessage = {
        type: 'indirectPing',
        seqNo: probe.seqNo,
        target: probe.target,
        targetAddr: probe.to.addr,
        targetPort: probe.to.port,
        wantNack: true,
        source: this.me.name,
        sourceAddr: this.me.addr,
        sourcePort: this.me.port,
      };
      this.send({ addr: peer.addr, port: peer.port }, encode(req), []);
    }
    probe.expectedNacks = peers.length;
    if (this.config.tcpFallbackPing) {
      if (this.outStreamPings.length >= this.config.outboundPacketsMax) {
        this.counters.outboundPacketsDropped++;
        return;
      }
      this.outStreamPings.push({
        to: probe.to,
        seqNo: probe.seqNo,
        msg: probe.ping,
        deadlineMs: probe.endMs,
      });
    }
  }

  private probeSucceeded(): void {
    this.probe = null;
    this.applyHealthDelta(-1);
  }

  private probeFailed(probe: ProbeInFlight, now: number): void {
    this.probe = null;
    this.counters.probeFailures++;
    // Lifeguard: nacks we expected but did not get mean our own links are suspect; with nobody
    // to ask, the failed probe itself counts against us.
    const missedNacks = Math.max(0, probe.expectedNacks - probe.nacks);
    this.applyHealthDelta(probe.expectedNacks > 0 ? missedNacks : 1);
    const m = this.table.get(probe.target);
    if (m === undefined || !isLive(m.state)) return;
    this.onSuspect(
      { type: 'suspect', incarnation: probe.incarnation, node: m.name, from: this.me.name },
      now,
      undefined,
    );
  }

  private suspicionExpired(name: string, now: number): void {
    this.suspicions.delete(name);
    const m = this.table.get(name);
    if (m === undefined || m.state !== 'suspect') return;
    this.markGone(m, m.incarnation, 'dead', now);
    this.broadcast(name, {
      type: 'dead',
      incarnation: m.incarnation,
      node: name,
      from: this.me.name,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Gossip.

  private gossip(now: number): void {
    if (this.queue.size === 0) return;
    const deadWindowMs = this.config.gossipToTheDeadMs;
    const targets = sampleWhere(
      this.random,
      this.table.members,
      this.config.gossipNodes,
      (m) =>
        m !== this.me &&
        (isLive(m.state) || (m.state === 'dead' && now - m.stateChangeMs <= deadWindowMs)),
    );
    for (const target of targets) {
      if (this.queue.size === 0) return;
      this.send({ addr: target.addr, port: target.port }, null, []);
    }
  }

  /** Queues news about `key` for piggybacking, replacing older news about it. */
  private broadcast(key: string, msg: Message): void {
    this.queue.enqueue(key, encode(msg));
    this.counters.broadcastsQueued++;
    this.counters.broadcastsDropped = this.queue.droppedCount;
  }

  /**
   * One datagram (or, if they cannot share one, more) to `to`: `primary` and `extras` first, then
   * as many queued broadcasts as fit.
   */
  private send(to: PeerAddress, primary: Uint8Array | null, extras: Uint8Array[]): void {
    const parts = primary === null ? extras : [primary, ...extras];
    let used = COMPOUND_HEADER_BYTES;
    for (const p of parts) used += COMPOUND_PART_OVERHEAD_BYTES + p.length;
    const room = this.config.inboundMessagesPerPacketMax - parts.length;
    if (room > 0 && this.queue.size > 0) {
      const limit = retransmitLimit(this.config, this.table.liveCount);
      const taken = this.queue.take(
        this.packetBudget - used,
        COMPOUND_PART_OVERHEAD_BYTES,
        room,
        limit,
      );
      for (const b of taken) parts.push(b);
    }
    if (parts.length === 0) return;
    for (const datagram of packCompound(parts, this.packetBudget)) {
      if (this.outPackets.length >= this.config.outboundPacketsMax) {
        this.counters.outboundPacketsDropped++;
        continue;
      }
      this.outPackets.push({ to, bytes: datagram });
      this.counters.packetsSent++;
      this.counters.bytesSent += datagram.length;
    }
    for (const p of parts) {
      const type = MESSAGE_TYPE_BY_NUMBER.get(p[0] as number);
      if (type !== undefined) this.counters.messagesSent[type]++;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Table changes.

  /**
   * Adds `member`. When the table is full, an alive newcomer (`evict`) takes the place of the
   * member gone longest; otherwise it is refused. Returns the added member or undefined.
   */
  private addMember(member: Member, evict: boolean): Member | undefined {
    if (this.table.isFull) {
      const gone = evict ? this.table.longestGone(this.me.name) : undefined;
      if (gone === undefined) {
        this.drop('table_full');
        return undefined;
      }
      this.removeMember(gone, 'evicted');
    }
    this.table.add(member);
    this.scheduler.add(member.name, 2 * this.config.membersMax);
    return member;
  }

  private removeMember(m: Member, reason: 'forced' | 'evicted'): void {
    this.suspicions.delete(m.name);
    this.table.remove(m.name, reason === 'forced');
    this.emit({ type: 'removed', member: viewOf(m), reason });
  }

  private markGone(m: Member, incarnation: number, state: 'dead' | 'left', now: number): void {
    this.suspicions.delete(m.name);
    m.incarnation = incarnation;
    this.table.setState(m, state, now);
    this.emit({ type: state, member: viewOf(m) });
  }

  // -------------------------------------------------------------------------------------------
  // Small helpers.

  private aliveOf(m: Member): AliveMessage {
    return {
      type: 'alive',
      incarnation: m.incarnation,
      node: m.name,
      addr: m.addr,
      port: m.port,
      meta: m.meta,
      protocol: m.protocol,
    };
  }

  private suspectOf(m: Member): SuspectMessage {
    return { type: 'suspect', incarnation: m.incarnation, node: m.name, from: this.me.name };
  }

  private nextSeqNo(): number {
    this.seqNo = this.seqNo >= U32_MAX ? 0 : this.seqNo + 1;
    return this.seqNo;
  }

  private applyHealthDelta(delta: number): void {
    if (this.awareness.applyDelta(delta)) {
      this.emit({ type: 'health', score: this.awareness.healthScore });
    }
  }

  private emit(event: MembershipEvent): void {
    if (this.outEvents.length >= this.config.eventsMax) {
      this.counters.eventsDropped++;
      return;
    }
    this.outEvents.push(event);
  }

  private drop(reason: MessageDropReason, count = 1): void {
    this.counters.messagesDropped[reason] += count;
  }
}
