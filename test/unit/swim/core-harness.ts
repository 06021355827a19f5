// Drives one SwimCore by hand for unit tests: feeds it messages as real datagrams, runs its
// deadlines in order, and keeps what it sends decoded, so a test reads like a protocol exchange.

import type { SwimConfig } from '../../../src/cluster/swim/config.js';
import type { MembershipEvent } from '../../../src/cluster/swim/events.js';
import type { PeerAddress } from '../../../src/cluster/swim/member.js';
import type { OutboundPushPull, OutboundStreamPing } from '../../../src/cluster/swim/output.js';
import { SeededRandom } from '../../../src/cluster/swim/random.js';
import { SwimCore } from '../../../src/cluster/swim/swim-core.js';
import { encode, packCompound, splitPacket } from '../../../src/cluster/wire/codec.js';
import {
  PROTOCOL_VERSION_CURRENT,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type AliveMessage,
  type Message,
  type PushNodeState,
} from '../../../src/cluster/wire/messages.js';

export const PORT = 7946;
export const PROTOCOL = {
  min: PROTOCOL_VERSION_MIN,
  max: PROTOCOL_VERSION_MAX,
  current: PROTOCOL_VERSION_CURRENT,
};

/** A stable address per member name: `n3` lives at 10.0.0.3. */
export function addrOf(name: string): PeerAddress {
  const digits = name.replace(/\D/g, '');
  return { addr: `10.0.0.${digits === '' ? 200 : Number(digits) % 250}`, port: PORT };
}

export function alive(name: string, incarnation = 1, addr = addrOf(name).addr): AliveMessage {
  return {
    type: 'alive',
    incarnation,
    node: name,
    addr,
    port: PORT,
    meta: new Uint8Array(0),
    protocol: PROTOCOL,
  };
}

export function pushState(
  name: string,
  state: PushNodeState['state'],
  incarnation = 1,
  addr = addrOf(name).addr,
): PushNodeState {
  return {
    name,
    addr,
    port: PORT,
    meta: new Uint8Array(0),
    incarnation,
    state,
    protocol: PROTOCOL,
  };
}

export interface SentPacket {
  to: PeerAddress;
  msgs: Message[];
  bytes: Uint8Array;
  atMs: number;
}

export class Harness {
  readonly core: SwimCore;
  now = 0;
  packets: SentPacket[] = [];
  events: MembershipEvent[] = [];
  pushPulls: OutboundPushPull[] = [];
  streamPings: OutboundStreamPing[] = [];
  /** Members (by name) that answer every ping the core sends them, at once. */
  readonly answering = new Set<string>();
  private deadlineMs = 0;

  constructor(
    name = 'n0',
    opts: { config?: Partial<SwimConfig>; incarnation?: number; seed?: number } = {},
  ) {
    this.core = new SwimCore({
      self: { name, ...addrOf(name), meta: new Uint8Array(0) },
      incarnation: opts.incarnation ?? 1,
      config: opts.config ?? {},
      random: new SeededRandom(opts.seed ?? 1),
    });
    this.core.tick(0);
    this.collect();
  }

  /** Makes the core know `names` as alive (incarnation 1), as gossip would. */
  know(...names: string[]): void {
    this.receive(
      'n99',
      names.map((n) => alive(n)),
    );
  }

  receive(fromName: string, msgs: Message[]): void {
    const [bytes] = packCompound(msgs.map((m) => encode(m)));
    if (bytes === undefined) throw new Error('nothing to send');
    this.core.receive(addrOf(fromName), bytes, this.now);
    this.collect();
  }

  receiveBytes(from: PeerAddress, bytes: Uint8Array): void {
    this.core.receive(from, bytes, this.now);
    this.collect();
  }

  /** Runs the core's deadlines up to `untilMs`, then sets the clock there. */
  runUntil(untilMs: number): void {
    while (this.deadlineMs <= untilMs) {
      this.now = Math.max(this.now, this.deadlineMs);
      this.core.tick(this.now);
      this.collect();
    }
    this.now = Math.max(this.now, untilMs);
  }

  /** Ticks once at the current time. */
  tick(): void {
    this.core.tick(this.now);
    this.collect();
  }

  collect(): void {
    const out = this.core.takeOutput();
    const acks: { from: string; seqNo: number }[] = [];
    for (const p of out.packets) {
      const msgs = splitPacket(p.bytes);
      this.packets.push({ to: p.to, msgs, bytes: p.bytes, atMs: this.now });
      for (const m of msgs) {
        if (m.type === 'ping' && this.answering.has(m.target)) {
          acks.push({ from: m.target, seqNo: m.seqNo });
        }
      }
    }
    this.events.push(...out.events);
    this.pushPulls.push(...out.pushPulls);
    this.streamPings.push(...out.streamPings);
    this.deadlineMs = out.nextDeadlineMs;
    for (const ack of acks) {
      this.receive(ack.from, [{ type: 'ack', seqNo: ack.seqNo, payload: new Uint8Array(0) }]);
    }
  }

  /** Every message sent so far, with its destination, and forgets them. */
  takeSent(): { to: PeerAddress; msg: Message }[] {
    const out = this.packets.flatMap((p) => p.msgs.map((msg) => ({ to: p.to, msg })));
    this.packets = [];
    return out;
  }

  takeEvents(): MembershipEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  clear(): void {
    this.packets = [];
    this.events = [];
    this.pushPulls = [];
    this.streamPings = [];
  }

  state(name: string): string | undefined {
    return this.core.member(name)?.state;
  }
}
