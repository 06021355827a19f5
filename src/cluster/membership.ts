// The membership shell: drives the sans-IO SWIM core with a real clock, real sockets (the gossip
// transport) and DNS discovery. The core decides everything; this file only carries its packets,
// runs the TCP exchanges it asks for, arms a timer for its next deadline and publishes its events.
//
// Start-up: discovery rounds (with backoff) until a peer is found and joined; a node that finds
// nobody after the last round bootstraps as a cluster of one. Afterwards the headless Service is
// re-resolved every REDISCOVER_INTERVAL_MS and every resolved address that is not an alive
// member is (re)joined, so the cluster heals by itself after a partition of any length.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import type { ClusterView, ForceRemoveOutcome, MemberView } from './cluster-view.js';
import {
  Discovery,
  REDISCOVER_INTERVAL_MS,
  startupRetryDelayMs,
  type DiscoveryResult,
} from './discovery/discovery.js';
import { Envelope, freshnessWindowMs, type DropReason } from './envelope.js';
import { nextIncarnation } from './incarnation.js';
import { GossipTransport, StreamChannel, type PeerAddr } from './io/gossip-transport.js';
import { decodeMeta, encodeMeta } from './member-meta.js';
import { Keyring } from './security/keyring.js';
import type { MembershipEvent, SwimCounters } from './swim/events.js';
import type { OutboundPushPull, OutboundStreamPing } from './swim/output.js';
import { SeededRandom } from './swim/random.js';
import { SwimCore } from './swim/swim-core.js';
import { decode, encode } from './wire/codec.js';
import type { Message } from './wire/messages.js';

/** How long a leaving node keeps gossiping so its leave reaches the cluster, at most. */
export const LEAVE_PROPAGATE_MS_MAX = 3_000;
const LEAVE_POLL_MS = 100;
/** Timers never wait longer than this, so a clock hiccup cannot stall the protocol. */
const TIMER_MS_MAX = 1_000;

export type ChannelHandler = (from: PeerAddr, payload: Uint8Array) => Promise<Uint8Array>;

export type TransportDrop = DropReason | 'stream_malformed' | 'stream_refused' | 'send_failed';

export interface MembershipEvents {
  member: [MembershipEvent];
  drop: [TransportDrop];
  discovery: [DiscoveryResult];
  joined: [{ alone: boolean }];
}

export class Membership extends EventEmitter<MembershipEvents> implements ClusterView {
  private timer: NodeJS.Timeout | undefined;
  private rediscoverTimer: NodeJS.Timeout | undefined;
  private joinedOnce = false;
  /** Gossip has stopped: the node left, or is stopping. */
  private stopped = false;
  private transportClosed = false;
  private transport!: GossipTransport;
  private readonly joinPushPulls = new Set<number>();
  private readonly channels = new Map<number, ChannelHandler>();
  private generationCount = 0;

  private constructor(
    private readonly core: SwimCore,
    private readonly discovery: Discovery,
    private readonly envelope: Envelope,
  ) {
    super();
  }

  static async start(config: Config, httpPort: number): Promise<Membership> {
    const keyring = config.gossipKeys.length > 0 ? new Keyring(config.gossipKeys) : undefined;
    const envelope = new Envelope(
      config.clusterName,
      keyring,
      Date.now,
      freshnessWindowMs(config.tombstoneGraceMs),
    );
    const core = new SwimCore({
      self: {
        name: config.nodeName,
        addr: config.advertiseAddr,
        port: config.gossipPort,
        meta: encodeMeta({
          httpPort,
          partitions: config.partitions,
          replicationFactor: config.replicationFactor,
        }),
      },
      incarnation: nextIncarnation(config.dataDir, Date.now()),
      random: new SeededRandom(randomBytes(4).readUInt32BE(0)),
      config: { packetOverheadBytes: envelope.overheadBytes },
    });
    const discovery = new Discovery({
      seeds: config.join,
      dnsName: config.discoveryDns,
      dnsServer: config.dnsServer,
      defaultPort: config.gossipPort,
      self: { host: config.advertiseAddr, port: config.gossipPort },
    });
    const membership = new Membership(core, discovery, envelope);
    membership.transport = await GossipTransport.listen(
      config.bindAddr,
      config.gossipPort,
      envelope,
      {
        onPacket: (from, payload) => membership.onPacket(from, payload),
        onStream: (channel, from, payload) => membership.onStream(channel, from, payload),
        onDrop: (reason) => membership.emit('drop', reason),
      },
    );
    membership.core.tick(now());
    membership.pump();
    void membership.joinAtStartup();
    return membership;
  }

  get generation(): number {
    return this.generationCount;
  }

  get selfName(): string {
    return this.core.name;
  }

  /** Joined a cluster, or bootstrapped alone after the start-up discovery rounds. */
  get joined(): boolean {
    return this.joinedOnce;
  }

  get counters(): Readonly<SwimCounters> {
    return this.core.counters;
  }

  get localHealth(): number {
    return this.core.healthScore;
  }

  members(): MemberView[] {
    return this.core.members().map((m) => {
      const meta = decodeMeta(m.meta);
      return {
        name: m.name,
        addr: m.addr,
        gossipPort: m.port,
        httpPort: meta.httpPort,
        state: m.state,
        incarnation: m.incarnation,
        ...(meta.partitions > 0 && meta.replicationFactor > 0
          ? { settings: { partitions: meta.partitions, replicationFactor: meta.replicationFactor } }
          : {}),
      };
    });
  }

  forceRemove(name: string): ForceRemoveOutcome {
    const outcome = this.core.forceRemove(name);
    if (outcome === 'removed') this.generationCount++;
    this.pump();
    // A node cannot remove itself; to the operator it is an alive member like any other.
    return outcome === 'self' ? 'alive' : outcome;
  }

  /**
   * Graceful leave: gossip that we left, give it time to spread, then stop gossiping. The TCP
   * side goes on serving the other channels until `stop`: the members that replace this one may
   * still read what it holds while it hands that over.
   */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.core.leave(now());
    this.pump();
    const deadline = now() + LEAVE_PROPAGATE_MS_MAX;
    while (!this.core.leaveComplete && now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, LEAVE_POLL_MS));
    }
    this.stopGossip();
  }

  /** Whether this node has left the cluster (or stopped). */
  get hasLeft(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopGossip();
    if (this.transportClosed) return;
    this.transportClosed = true;
    await this.transport.close();
  }

  private stopGossip(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.rediscoverTimer);
  }

  private onPacket(from: PeerAddr, payload: Uint8Array): void {
    if (this.stopped) return;
    this.core.receive(from, payload, now());
    this.pump();
  }

  /** Hands the TCP frames of another protocol (replication) on this port to `handler`. */
  serveChannel(channel: number, handler: ChannelHandler): void {
    this.channels.set(channel, handler);
  }

  /** The envelope every packet and frame on this port is sealed with. */
  get peerEnvelope(): Envelope {
    return this.envelope;
  }

  private onStream(
    channel: number,
    from: PeerAddr,
    payload: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    // Other protocols are served until the transport closes, membership only until gossip stops.
    if (channel !== StreamChannel.membership) {
      const handler = this.channels.get(channel);
      return handler === undefined ? Promise.resolve(undefined) : handler(from, payload);
    }
    if (this.stopped) return Promise.resolve(undefined);
    let msg: Message;
    try {
      msg = decode(payload);
    } catch {
      this.emit('drop', 'stream_malformed');
      return Promise.resolve(undefined);
    }
    let reply: Message | null = null;
    if (msg.type === 'pushPull') reply = this.core.receivePushPull(from, msg, now());
    else if (msg.type === 'ping') reply = this.core.receiveStreamPing(from, msg, now());
    else this.emit('drop', 'stream_malformed');
    this.pump();
    return Promise.resolve(reply === null ? undefined : encode(reply));
  }

  /** Carries out everything the core produced and arms the timer for its next deadline. */
  private pump(): void {
    if (this.stopped) return;
    const output = this.core.takeOutput();
    for (const packet of output.packets) this.transport.sendPacket(packet.to, packet.bytes);
    for (const pushPull of output.pushPulls) void this.runPushPull(pushPull);
    for (const ping of output.streamPings) void this.runStreamPing(ping);
    if (output.events.length > 0) this.generationCount++;
    for (const event of output.events) this.emit('member', event);
    clearTimeout(this.timer);
    if (Number.isFinite(output.nextDeadlineMs)) {
      const delayMs = Math.min(TIMER_MS_MAX, Math.max(0, output.nextDeadlineMs - now()));
      this.timer = setTimeout(() => {
        if (this.stopped) return;
        this.core.tick(now());
        this.pump();
      }, delayMs);
    }
  }

  private async runPushPull(pushPull: OutboundPushPull): Promise<void> {
    if (pushPull.join) this.joinPushPulls.add(pushPull.id);
    let reply: Message | null = null;
    try {
      reply = decode(
        await this.transport.request(pushPull.to, StreamChannel.membership, encode(pushPull.msg)),
      );
    } catch {
      reply = null;
    }
    if (this.stopped) return;
    const state = reply !== null && reply.type === 'pushPull' ? reply : null;
    const ok = state !== null;
    this.core.pushPullResult(pushPull.id, state, now());
    if (ok && this.joinPushPulls.has(pushPull.id)) this.markJoined(false);
    this.joinPushPulls.delete(pushPull.id);
    this.pump();
  }

  private async runStreamPing(ping: OutboundStreamPing): Promise<void> {
    let ok = false;
    try {
      const timeoutMs = Math.max(1, ping.deadlineMs - now());
      const reply = decode(
        await this.transport.request(
          ping.to,
          StreamChannel.membership,
          encode(ping.msg),
          timeoutMs,
        ),
      );
      ok = reply.type === 'ack' && reply.seqNo === ping.seqNo;
    } catch {
      ok = false;
    }
    if (this.stopped) return;
    this.core.streamPingResult(ping.seqNo, ok, now());
    this.pump();
  }

  private markJoined(alone: boolean): void {
    if (this.joinedOnce) return;
    this.joinedOnce = true;
    this.emit('joined', { alone });
  }

  /** Start-up rounds with backoff; then the periodic re-resolution. */
  private async joinAtStartup(): Promise<void> {
    if (!this.discovery.configured) {
      this.markJoined(true);
      return;
    }
    for (let attempt = 0; !this.stopped && !this.joinedOnce; attempt++) {
      await this.discoverAndJoin();
      // Peers that started first may have joined us already: then we are part of their cluster.
      if (this.core.memberCount('alive') > 1) this.markJoined(false);
      const delayMs = startupRetryDelayMs(attempt + 1);
      if (delayMs === undefined) break;
      // Give the join push-pulls of this round time to answer before the next round.
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    if (!this.stopped) this.markJoined(true);
    this.scheduleRediscovery();
  }

  private scheduleRediscovery(): void {
    if (this.stopped) return;
    this.rediscoverTimer = setTimeout(() => {
      void this.discoverAndJoin().finally(() => this.scheduleRediscovery());
    }, REDISCOVER_INTERVAL_MS);
    this.rediscoverTimer.unref();
  }

  /** Resolves peers and joins every address that is not an alive member. */
  private async discoverAndJoin(): Promise<void> {
    let result: DiscoveryResult;
    try {
      result = await this.discovery.discover();
    } catch {
      return;
    }
    if (this.stopped) return;
    this.emit('discovery', result);
    const strangers = result.peers
      .map((peer) => ({ addr: peer.host, port: peer.port }))
      .filter((peer) => !this.core.knowsAliveAt(peer.addr, peer.port));
    if (strangers.length === 0) return;
    this.core.join(strangers, now());
    this.pump();
  }
}

/** The core's clock: monotonic milliseconds, immune to wall-clock steps. */
function now(): number {
  return performance.now();
}
