// A seeded, deterministic discrete-event simulation of a cluster of SwimCore instances: a virtual
// clock that jumps to the next event, nodes that crash, pause (like SIGSTOP), restart (same name,
// higher incarnation, maybe a new address) or leave, over the simulated network of network.ts.
// Push-pulls and fallback pings are reliable exchanges between nodes that can reach each other.
// Nothing here reads the real clock or Math.random, so a seed replays a run exactly.

import { encodingLength } from '../../src/cluster/wire/codec.js';
import type { SwimConfig } from '../../src/cluster/swim/config.js';
import type { MembershipEvent } from '../../src/cluster/swim/events.js';
import type { MemberView, PeerAddress } from '../../src/cluster/swim/member.js';
import { SeededRandom } from '../../src/cluster/swim/random.js';
import { SwimCore } from '../../src/cluster/swim/swim-core.js';
import type { SwimOutput } from '../../src/cluster/swim/output.js';
import type { MemberStateName, PushPullMessage } from '../../src/cluster/wire/messages.js';
import { EventQueue } from './event-queue.js';
import { SimNetwork, type NetworkOptions } from './network.js';

export const GOSSIP_PORT = 7946;

/** Datagrams a paused node's socket buffer holds; later ones are lost, as in a kernel. */
export const PAUSED_INBOX_PACKETS_MAX = 512;

/**
 * Ticks at one virtual instant after which the simulator calls it a livelock (a core whose
 * deadline never moves past now): a bug to report, not to wait out.
 */
const SAME_INSTANT_TICKS_MAX = 1_000;

export type NodeStatus = 'up' | 'crashed' | 'paused' | 'stopped';

export interface SimNode {
  readonly name: string;
  addr: string;
  readonly port: number;
  core: SwimCore;
  status: NodeStatus;
  /** Datagrams that arrived while paused, delivered on resume. */
  inbox: { from: PeerAddress; bytes: Uint8Array }[];
  timerAtMs: number;
  timerToken: number;
  /** Bytes of datagrams and streams this node sent (encoded sizes). */
  bytesSent: number;
  packetsSent: number;
  /** Times tick ran at the current instant (livelock guard). */
  ticksAtInstant: number;
  lastTickMs: number;
}

export interface SimClusterOptions {
  seed: number;
  network?: Partial<NetworkOptions>;
  config?: Partial<SwimConfig>;
}

export type EventListener = (node: string, event: MembershipEvent, nowMs: number) => void;
export type PacketListener = (
  from: string,
  to: PeerAddress,
  bytes: Uint8Array,
  nowMs: number,
) => void;

export class SimCluster {
  readonly seed: number;
  readonly network: SimNetwork;
  private readonly random: SeededRandom;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<string, SimNode>();
  private readonly byAddress = new Map<string, SimNode>();
  private readonly config: Partial<SwimConfig>;
  private readonly eventListeners: EventListener[] = [];
  private readonly packetListeners: PacketListener[] = [];
  private nowMs = 0;
  private addressCounter = 0;

  constructor(options: SimClusterOptions) {
    this.seed = options.seed;
    this.random = new SeededRandom(options.seed);
    this.network = new SimNetwork(new SeededRandom(options.seed ^ 0x5eed), options.network);
    this.config = options.config ?? {};
  }

  get now(): number {
    return this.nowMs;
  }

  /** Events processed so far are not counted; this is what is still pending. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  onEvent(listener: EventListener): void {
    this.eventListeners.push(listener);
  }

  onPacket(listener: PacketListener): void {
    this.packetListeners.push(listener);
  }

  /** A fresh address nobody has used in this run. */
  freshAddress(): string {
    const i = this.addressCounter++;
    return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  }

  node(name: string): SimNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no simulated node ${name}`);
    return node;
  }

  allNodes(): SimNode[] {
    return [...this.nodes.values()];
  }

  upNodes(): SimNode[] {
    return this.allNodes().filter((n) => n.status === 'up');
  }

  /** Creates a node (not yet running: see start). */
  addNode(name: string, opts: { addr?: string; incarnation?: number } = {}): SimNode {
    if (this.nodes.has(name)) throw new Error(`node ${name} exists`);
    const addr = opts.addr ?? this.freshAddress();
    const node: SimNode = {
      name,
      addr,
      port: GOSSIP_PORT,
      core: this.makeCore(name, addr, opts.incarnation ?? 1),
      status: 'stopped',
      inbox: [],
      timerAtMs: Infinity,
      timerToken: 0,
      bytesSent: 0,
      packetsSent: 0,
      ticksAtInstant: 0,
      lastTickMs: -1,
    };
    this.nodes.set(name, node);
    this.byAddress.set(`${addr}|${GOSSIP_PORT}`, node);
    return node;
  }

  /** Starts `name` at `atMs` (default now), joining through the nodes named in `seeds`. */
  start(name: string, seeds: readonly string[] = [], atMs = this.nowMs): void {
    const node = this.node(name);
    this.queue.schedule(Math.max(atMs, this.nowMs), () => {
      node.status = 'up';
      node.core.tick(this.nowMs);
      const addresses = seeds
        .filter((s) => s !== name)
        .map((s) => ({ addr: this.node(s).addr, port: GOSSIP_PORT }));
      if (addresses.length > 0) node.core.join(addresses, this.nowMs);
      this.drain(node);
    });
  }

  /**
   * Test fixture: makes every node know every other as alive, as if the cluster had converged,
   * by one direct state exchange through the first node (no network). Lets experiments that are
   * about failures start from a converged 1,000-member cluster without simulating its formation.
   */
  bootstrapConverged(): void {
    const nodes = this.allNodes();
    const hub = nodes[0];
    if (hub === undefined) return;
    for (const node of nodes) {
      node.status = 'up';
      node.core.tick(this.nowMs);
    }
    const stateOf = (core: SwimCore): PushPullMessage => ({
      type: 'pushPull',
      join: false,
      states: core.members().map((m) => ({
        name: m.name,
        addr: m.addr,
        port: m.port,
        meta: m.meta,
        incarnation: m.incarnation,
        state: m.state,
        protocol: m.protocol,
      })),
    });
    for (const node of nodes) {
      if (node !== hub)
        hub.core.receivePushPull(this.addressOf(node), stateOf(node.core), this.nowMs);
    }
    const full = stateOf(hub.core);
    for (const node of nodes) {
      if (node !== hub) node.core.receivePushPull(this.addressOf(hub), full, this.nowMs);
    }
    for (const node of nodes) this.drain(node);
  }

  /** The process dies: it stops answering and its state is gone. */
  crash(name: string): void {
    const node = this.node(name);
    node.status = 'crashed';
    node.inbox = [];
    node.timerToken++;
    node.timerAtMs = Infinity;
  }

  /** Like SIGSTOP: nothing runs, datagrams queue up in the socket buffer. */
  pause(name: string): void {
    const node = this.node(name);
    if (node.status !== 'up') return;
    node.status = 'paused';
    node.timerToken++;
    node.timerAtMs = Infinity;
  }

  /** Like SIGCONT: the node catches up on its timers and buffered datagrams. */
  resume(name: string): void {
    const node = this.node(name);
    if (node.status !== 'paused') return;
    node.status = 'up';
    const inbox = node.inbox;
    node.inbox = [];
    node.core.tick(this.nowMs);
    for (const packet of inbox) node.core.receive(packet.from, packet.bytes, this.nowMs);
    this.drain(node);
  }

  /**
   * The process is replaced (crash or deliberate): a new core under the same name with an
   * incarnation above any the old one used (as the shell derives it), optionally at a new
   * address, joining through `seeds`.
   */
  restart(name: string, opts: { addr?: string; seeds?: readonly string[] } = {}): SimNode {
    const node = this.node(name);
    if (node.status === 'up' || node.status === 'paused') this.crash(name);
    const incarnation = node.core.incarnation + 1_000;
    if (opts.addr !== undefined && opts.addr !== node.addr) {
      const oldKey = `${node.addr}|${GOSSIP_PORT}`;
      if (this.byAddress.get(oldKey) === node) this.byAddress.delete(oldKey);
      node.addr = opts.addr;
      this.byAddress.set(`${node.addr}|${GOSSIP_PORT}`, node);
    }
    node.core = this.makeCore(name, node.addr, incarnation);
    node.status = 'stopped';
    node.inbox = [];
    this.start(name, opts.seeds ?? []);
    return node;
  }

  /** Runs `action` on a node's core now (an operator's call, say) and sends what it produced. */
  act<T>(name: string, action: (core: SwimCore) => T): T {
    const node = this.node(name);
    const result = action(node.core);
    this.drain(node);
    return result;
  }

  leave(name: string): void {
    const node = this.node(name);
    node.core.leave(this.nowMs);
    this.drain(node);
  }

  /** The process exits on purpose (after a leave). */
  stop(name: string): void {
    this.crash(name);
    this.node(name).status = 'stopped';
  }

  /** Runs every event up to `untilMs` and sets the clock there. */
  runUntilTime(untilMs: number): void {
    for (;;) {
      const at = this.queue.peekMs();
      if (at > untilMs) break;
      const event = this.queue.pop();
      if (event === undefined) break;
      this.nowMs = event.atMs;
      event.run();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  runFor(ms: number): void {
    this.runUntilTime(this.nowMs + ms);
  }

  /**
   * Runs until `done` holds (checked every `checkEveryMs`) or `maxMs` pass. Returns the virtual
   * time it took, or undefined if it never held.
   */
  runUntil(done: () => boolean, maxMs: number, checkEveryMs = 100): number | undefined {
    const start = this.nowMs;
    for (;;) {
      if (done()) return this.nowMs - start;
      if (this.nowMs - start >= maxMs) return undefined;
      this.runFor(Math.min(checkEveryMs, maxMs - (this.nowMs - start)));
    }
  }

  /** What `observer` believes of `subject`. */
  viewOf(observer: string, subject: string): MemberView | undefined {
    return this.node(observer).core.member(subject);
  }

  /** Whether every running node other than `subject` holds `subject` in `state`. */
  allSee(subject: string, state: MemberStateName, addr?: string): boolean {
    for (const node of this.nodes.values()) {
      if (node.status !== 'up' || node.name === subject) continue;
      if (node.core.stateOf(subject) !== state) return false;
      if (addr !== undefined && node.core.member(subject)?.addr !== addr) return false;
    }
    return true;
  }

  /** Whether every running node holds every running node (itself included) alive. */
  converged(): boolean {
    const up = this.upNodes();
    if (up.length === 0) return false;
    for (const node of up) {
      if (node.core.memberCount('alive') < up.length) return false;
      for (const other of up) {
        if (node.core.stateOf(other.name) !== 'alive') return false;
      }
    }
    return true;
  }

  /** Running nodes whose table disagrees with "every running node alive", for failure messages. */
  describeDivergence(limit = 5): string {
    const up = this.upNodes();
    const lines: string[] = [];
    for (const node of up) {
      const wrong = up
        .filter((o) => node.core.stateOf(o.name) !== 'alive')
        .map((o) => `${o.name}:${node.core.stateOf(o.name) ?? 'unknown'}`);
      if (wrong.length > 0) lines.push(`${node.name} sees ${wrong.slice(0, 5).join(', ')}`);
      if (lines.length >= limit) break;
    }
    return lines.join('; ');
  }

  private makeCore(name: string, addr: string, incarnation: number): SwimCore {
    return new SwimCore({
      self: { name, addr, port: GOSSIP_PORT, meta: new Uint8Array(0) },
      incarnation,
      config: this.config,
      random: new SeededRandom(this.random.nextUint32()),
    });
  }

  private addressOf(node: SimNode): PeerAddress {
    return { addr: node.addr, port: node.port };
  }

  /** The running node at `to`, if any (the address may belong to a crashed node or nobody). */
  private nodeAt(to: PeerAddress): SimNode | undefined {
    return this.byAddress.get(`${to.addr}|${to.port}`);
  }

  /** Takes a node's output and puts it on the network and the agenda. */
  private drain(node: SimNode): void {
    const out: SwimOutput = node.core.takeOutput();
    const now = this.nowMs;
    const from = this.addressOf(node);
    for (const packet of out.packets) {
      node.packetsSent++;
      node.bytesSent += packet.bytes.length;
      for (const listener of this.packetListeners)
        listener(node.name, packet.to, packet.bytes, now);
      const target = this.nodeAt(packet.to);
      if (target === undefined || !this.network.canReach(node.name, target.name)) continue;
      for (const delay of this.network.datagramDelays()) {
        this.queue.schedule(now + delay, () => this.deliver(target, from, packet.bytes));
      }
    }
    for (const pushPull of out.pushPulls)
      this.runPushPull(node, pushPull.id, pushPull.to, pushPull.msg);
    for (const ping of out.streamPings) {
      const target = this.nodeAt(ping.to);
      const there = this.network.delay();
      const back = this.network.delay();
      const reachable = target !== undefined && this.network.canReach(node.name, target.name);
      const answerAt = now + there + back;
      if (!reachable || answerAt > ping.deadlineMs) {
        this.queue.schedule(Math.max(now, ping.deadlineMs), () => {
          if (node.status === 'up') {
            node.core.streamPingResult(ping.seqNo, false, this.nowMs);
            this.drain(node);
          }
        });
        continue;
      }
      this.queue.schedule(now + there, () => {
        const ack =
          target.status === 'up' ? target.core.receiveStreamPing(from, ping.msg, this.nowMs) : null;
        const ok = ack !== null && ack.seqNo === ping.seqNo;
        this.queue.schedule(ok ? this.nowMs + back : Math.max(this.nowMs, ping.deadlineMs), () => {
          if (node.status !== 'up') return;
          node.core.streamPingResult(ping.seqNo, ok, this.nowMs);
          this.drain(node);
        });
      });
    }
    for (const event of out.events) {
      for (const listener of this.eventListeners) listener(node.name, event, now);
    }
    this.arm(node, out.nextDeadlineMs);
  }

  private runPushPull(node: SimNode, id: number, to: PeerAddress, msg: PushPullMessage): void {
    const now = this.nowMs;
    const from = this.addressOf(node);
    node.bytesSent += encodingLength(msg);
    const fail = (): void => {
      this.queue.schedule(now + this.network.options.streamTimeoutMs, () => {
        if (node.status !== 'up') return;
        node.core.pushPullResult(id, null, this.nowMs);
        this.drain(node);
      });
    };
    const target = this.nodeAt(to);
    if (target === undefined || !this.network.canReach(node.name, target.name)) {
      fail();
      return;
    }
    // Connect, send, and the answer back: a few one-way delays.
    const there = this.network.delay() * 2;
    this.queue.schedule(now + there, () => {
      if (target.status !== 'up' || !this.network.canReach(node.name, target.name)) {
        fail();
        return;
      }
      const reply = target.core.receivePushPull(from, msg, this.nowMs);
      target.bytesSent += encodingLength(reply);
      this.drain(target);
      this.queue.schedule(this.nowMs + this.network.delay(), () => {
        if (node.status !== 'up') return;
        node.core.pushPullResult(id, reply, this.nowMs);
        this.drain(node);
      });
    });
  }

  private deliver(target: SimNode, from: PeerAddress, bytes: Uint8Array): void {
    if (target.status === 'paused') {
      if (target.inbox.length < PAUSED_INBOX_PACKETS_MAX) target.inbox.push({ from, bytes });
      return;
    }
    if (target.status !== 'up') return;
    target.core.receive(from, bytes, this.nowMs);
    this.drain(target);
  }

  /** Schedules the node's next tick at `deadlineMs` unless an earlier one is pending. */
  private arm(node: SimNode, deadlineMs: number): void {
    if (node.status !== 'up' || deadlineMs >= node.timerAtMs || deadlineMs === Infinity) return;
    const at = Math.max(this.nowMs, deadlineMs);
    node.timerAtMs = at;
    const token = ++node.timerToken;
    this.queue.schedule(at, () => {
      if (node.timerToken !== token || node.status !== 'up') return;
      node.timerAtMs = Infinity;
      if (node.lastTickMs === this.nowMs) {
        if (++node.ticksAtInstant > SAME_INSTANT_TICKS_MAX) {
          throw new Error(`${node.name} livelocked at ${this.nowMs} ms (seed ${this.seed})`);
        }
      } else {
        node.lastTickMs = this.nowMs;
        node.ticksAtInstant = 0;
      }
      node.core.tick(this.nowMs);
      this.drain(node);
    });
  }
}
