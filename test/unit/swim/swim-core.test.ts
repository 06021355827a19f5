import { describe, expect, it } from 'vitest';
import type { MembershipEvent } from '../../../src/cluster/swim/events.js';
import { SeededRandom } from '../../../src/cluster/swim/random.js';
import { SwimCore } from '../../../src/cluster/swim/swim-core.js';
import { encode, packCompound } from '../../../src/cluster/wire/codec.js';
import type { Message, PingMessage } from '../../../src/cluster/wire/messages.js';
import { addrOf, alive, Harness, PORT, pushState } from './core-harness.js';

function ofType<T extends Message['type']>(
  sent: { msg: Message }[],
  type: T,
): Extract<Message, { type: T }>[] {
  return sent.map((s) => s.msg).filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** Runs until the core sends its next probe; returns the ping and where it went. */
function nextPing(h: Harness): { ping: PingMessage; to: string; at: number; msgs: Message[] } {
  for (let t = h.now; t < h.now + 20_000; t += 10) {
    h.runUntil(t);
    const found = h.packets.flatMap((p) =>
      p.msgs
        .filter((m) => m.type === 'ping')
        .map((m) => ({ ping: m as PingMessage, to: p.to.addr, at: p.atMs, msgs: p.msgs })),
    )[0];
    if (found !== undefined) {
      h.packets = h.packets.filter((p) => p.atMs > found.at);
      return found;
    }
  }
  throw new Error('no probe was sent');
}

function eventsOf(h: Harness, type: MembershipEvent['type']): MembershipEvent[] {
  return h.events.filter((e) => e.type === type);
}

describe('SwimCore: probing', () => {
  it('answers a ping with an ack of the same seqNo, to the address the ping names', () => {
    const h = new Harness();
    h.clear();
    h.receive('n1', [
      {
        type: 'ping',
        seqNo: 77,
        target: 'n0',
        source: 'n1',
        sourceAddr: '10.9.9.9',
        sourcePort: 1234,
      },
    ]);
    const acks = h.packets.filter((p) => p.msgs.some((m) => m.type === 'ack' && m.seqNo === 77));
    expect(acks).toHaveLength(1);
    expect(acks[0]?.to).toEqual({ addr: '10.9.9.9', port: 1234 });
  });

  it('ignores a ping meant for another member, and counts it', () => {
    const h = new Harness();
    h.clear();
    h.receive('n1', [
      {
        type: 'ping',
        seqNo: 1,
        target: 'someone-else',
        source: 'n1',
        sourceAddr: '',
        sourcePort: 0,
      },
    ]);
    expect(h.packets).toHaveLength(0);
    expect(h.core.counters.messagesDropped.misdirected).toBe(1);
  });

  it('a probe without an ack goes indirect (with nacks wanted) and over TCP, then suspects', () => {
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4');
    h.clear();
    const { ping, at } = nextPing(h);
    const target = ping.target;
    h.runUntil(at + 499);
    expect(ofType(h.takeSent(), 'indirectPing')).toHaveLength(0);
    h.runUntil(at + 500);
    const sent = h.takeSent();
    const reqs = ofType(sent, 'indirectPing');
    expect(reqs).toHaveLength(3);
    for (const r of reqs) {
      expect(r).toMatchObject({ seqNo: ping.seqNo, target, wantNack: true, source: 'n0' });
    }
    const askedAddrs = sent.filter((s) => s.msg.type === 'indirectPing').map((s) => s.to.addr);
    expect(askedAddrs).not.toContain(addrOf(target).addr);
    expect(new Set(askedAddrs).size).toBe(3);
    expect(h.streamPings).toEqual([
      { to: addrOf(target), seqNo: ping.seqNo, msg: ping, deadlineMs: at + 1_000 },
    ]);
    expect(h.state(target)).toBe('alive');
    h.runUntil(at + 1_000);
    expect(h.state(target)).toBe('suspect');
    const suspects = ofType(h.takeSent(), 'suspect');
    // The suspicion is gossiped (it rides on the next packets).
    expect(suspects.length).toBeGreaterThan(0);
    expect(suspects[0]).toMatchObject({ node: target, from: 'n0', incarnation: 1 });
  });

  it('an ack in time ends the probe: no indirect probes, no suspicion', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    const { ping, at } = nextPing(h);
    h.receive(ping.target, [{ type: 'ack', seqNo: ping.seqNo, payload: new Uint8Array(0) }]);
    h.runUntil(at + 1_000);
    expect(ofType(h.takeSent(), 'indirectPing')).toHaveLength(0);
    expect(h.state(ping.target)).toBe('alive');
    expect(h.streamPings).toHaveLength(0);
  });

  it('an ack relayed by an indirect prober also counts', () => {
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4');
    const { ping, at } = nextPing(h);
    h.runUntil(at + 600);
    h.receive('n3', [{ type: 'ack', seqNo: ping.seqNo, payload: new Uint8Array(0) }]);
    h.runUntil(at + 5_000);
    expect(h.state(ping.target)).toBe('alive');
  });

  it('a TCP fallback ping that succeeds saves the target from suspicion', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    const { ping, at } = nextPing(h);
    h.runUntil(at + 510);
    h.core.streamPingResult(ping.seqNo, true, h.now);
    h.collect();
    h.runUntil(at + 1_000);
    expect(h.state(ping.target)).toBe('alive');
    expect(h.core.counters.streamPingRescues).toBe(1);
  });

  it('without TCP fallback no stream ping is asked for', () => {
    const h = new Harness('n0', { config: { tcpFallbackPing: false } });
    h.know('n1', 'n2');
    const { at } = nextPing(h);
    h.runUntil(at + 1_000);
    expect(h.streamPings).toHaveLength(0);
  });

  it('buddy system: a probe of a suspect carries the suspicion, so the suspect can refute', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n2' }]);
    expect(h.state('n1')).toBe('suspect');
    h.clear();
    const { msgs, ping } = nextPing(h);
    expect(ping.target).toBe('n1');
    expect(msgs).toContainEqual({ type: 'suspect', incarnation: 1, node: 'n1', from: 'n0' });
  });

  it('a ping from a member we hold dead is answered with the news, so it refutes', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    expect(h.state('n1')).toBe('dead');
    h.clear();
    h.receive('n1', [
      { type: 'ping', seqNo: 5, target: 'n0', source: 'n1', sourceAddr: '', sourcePort: 0 },
    ]);
    const reply = h.packets.find((p) => p.msgs.some((m) => m.type === 'ack'));
    expect(reply?.msgs).toContainEqual({ type: 'suspect', incarnation: 1, node: 'n1', from: 'n0' });
  });
});

describe('SwimCore: repairing missed news', () => {
  it('answers a stale accusation about a member it holds refuted with the refutation, to the sender', () => {
    const h = new Harness();
    h.receive('n1', [alive('n1', 3)]);
    h.clear();
    h.receive('n2', [{ type: 'suspect', incarnation: 2, node: 'n1', from: 'n2' }]);
    expect(h.state('n1')).toBe('alive');
    expect(h.takeSent()).toContainEqual({ to: addrOf('n2'), msg: alive('n1', 3) });
    expect(h.core.counters.staleRumoursCorrected).toBe(1);
  });

  it('syncs with a member it does not know that probes it, at most once per interval', () => {
    const h = new Harness();
    h.runUntil(1_000);
    const ping = (source: string): Message => ({
      type: 'ping',
      seqNo: 1,
      target: 'n0',
      source,
      sourceAddr: addrOf(source).addr,
      sourcePort: PORT,
    });
    h.receive('n1', [ping('n1')]);
    h.receive('n1', [ping('n1')]);
    h.receive('n2', [ping('n2')]);
    expect(h.pushPulls.map((p) => [p.to.addr, p.join])).toEqual([[addrOf('n1').addr, false]]);
    h.runUntil(h.now + 1_000);
    h.receive('n2', [ping('n2')]);
    expect(h.pushPulls.map((p) => p.to.addr)).toEqual([addrOf('n1').addr, addrOf('n2').addr]);
    expect(h.core.counters.strangerSyncs).toBe(2);
  });
});

describe('SwimCore: local health (Lifeguard)', () => {
  it('missed nacks raise the score and slow probing; successful probes lower it', () => {
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4');
    const { at } = nextPing(h);
    h.runUntil(at + 1_000);
    // Three indirect probers, none nacked.
    expect(h.core.healthScore).toBe(3);
    expect(eventsOf(h, 'health')).toContainEqual({ type: 'health', score: 3 });
    // The next probe starts as this one ends, and runs with every timing scaled by 3 + 1.
    const second = nextPing(h);
    expect(second.at).toBe(at + 1_000);
    h.receive(second.ping.target, [
      { type: 'ack', seqNo: second.ping.seqNo, payload: new Uint8Array(0) },
    ]);
    expect(h.core.healthScore).toBe(2);
    const third = nextPing(h);
    expect(third.at - second.at).toBe(4 * 1_000);
  });

  it('nacks from the indirect probers keep the score from rising', () => {
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4');
    const { ping, at } = nextPing(h);
    h.runUntil(at + 500);
    for (const peer of ['n1', 'n2', 'n3', 'n4'].filter((n) => n !== ping.target).slice(0, 3)) {
      h.receive(peer, [{ type: 'nack', seqNo: ping.seqNo }]);
    }
    h.runUntil(at + 1_000);
    expect(h.core.healthScore).toBe(0);
    expect(h.core.counters.nacksReceived).toBe(3);
  });

  it('runs an indirect probe for others: relays the ack, or nacks after the probe timeout', () => {
    const h = new Harness();
    h.clear();
    const req = (seqNo: number, target: string): Message => ({
      type: 'indirectPing',
      seqNo,
      target,
      targetAddr: addrOf(target).addr,
      targetPort: PORT,
      wantNack: true,
      source: 'n1',
      sourceAddr: addrOf('n1').addr,
      sourcePort: PORT,
    });
    h.receive('n1', [req(500, 'n2')]);
    const ping = ofType(h.takeSent(), 'ping')[0];
    expect(ping).toMatchObject({ target: 'n2', source: 'n0' });
    h.receive('n2', [{ type: 'ack', seqNo: ping!.seqNo, payload: new Uint8Array(0) }]);
    const relayed = h.takeSent().filter((s) => s.msg.type === 'ack');
    expect(relayed).toEqual([
      { to: addrOf('n1'), msg: { type: 'ack', seqNo: 500, payload: new Uint8Array(0) } },
    ]);
    h.receive('n1', [req(600, 'n3')]);
    const relayPing = ofType(h.takeSent(), 'ping')[0];
    const asked = h.now;
    h.runUntil(asked + 399);
    expect(h.takeSent().filter((s) => s.msg.type === 'nack')).toEqual([]);
    // The nack goes out early enough to reach the requester inside its probe period...
    h.runUntil(asked + 400);
    expect(h.takeSent().filter((s) => s.msg.type === 'nack')).toEqual([
      { to: addrOf('n1'), msg: { type: 'nack', seqNo: 600 } },
    ]);
    // ...and an ack that comes later is still relayed while that period may be open.
    h.runUntil(asked + 700);
    h.receive('n3', [{ type: 'ack', seqNo: relayPing!.seqNo, payload: new Uint8Array(0) }]);
    expect(h.takeSent().filter((s) => s.msg.type === 'ack')).toEqual([
      { to: addrOf('n1'), msg: { type: 'ack', seqNo: 600, payload: new Uint8Array(0) } },
    ]);
  });

  it('holds relaysMax indirect probes at once and drops ping-reqs past that', () => {
    const h = new Harness('n0', { config: { relaysMax: 2 } });
    const req = (seqNo: number): Message => ({
      type: 'indirectPing',
      seqNo,
      target: 'n2',
      targetAddr: addrOf('n2').addr,
      targetPort: PORT,
      wantNack: false,
      source: 'n1',
      sourceAddr: '',
      sourcePort: 0,
    });
    h.clear();
    h.receive('n1', [req(1), req(2)]);
    expect(ofType(h.takeSent(), 'ping')).toHaveLength(2);
    expect(h.core.counters.messagesDropped.relays_full).toBe(0);
    h.receive('n1', [req(3)]);
    expect(ofType(h.takeSent(), 'ping')).toHaveLength(0);
    expect(h.core.counters.messagesDropped.relays_full).toBe(1);
  });
});

describe('SwimCore: suspicion and refutation', () => {
  it('refutes a suspicion of itself with a higher incarnation, gossiped', () => {
    const h = new Harness('n0', { incarnation: 5 });
    h.know('n1');
    h.clear();
    h.receive('n1', [{ type: 'suspect', incarnation: 5, node: 'n0', from: 'n1' }]);
    expect(h.core.incarnation).toBe(6);
    expect(h.core.counters.refutations).toBe(1);
    h.runUntil(h.now + 1_000);
    const alives = ofType(h.takeSent(), 'alive').filter((a) => a.node === 'n0');
    expect(alives.length).toBeGreaterThan(0);
    expect(alives[0]?.incarnation).toBe(6);
  });

  it('refutes a death of itself, and an accusation above its incarnation', () => {
    const h = new Harness('n0', { incarnation: 5 });
    h.receive('n1', [{ type: 'dead', incarnation: 9, node: 'n0', from: 'n1' }]);
    expect(h.core.incarnation).toBe(10);
    expect(h.core.member('n0')?.state).toBe('alive');
  });

  it('answers a stale accusation only to its sender, without a new incarnation', () => {
    const h = new Harness('n0', { incarnation: 5 });
    h.clear();
    h.receive('n1', [{ type: 'suspect', incarnation: 4, node: 'n0', from: 'n2' }]);
    expect(h.core.incarnation).toBe(5);
    const sent = h.takeSent();
    expect(sent).toContainEqual({ to: addrOf('n1'), msg: alive('n0', 5) });
  });

  it('cannot be accused past the largest incarnation: such a message is dropped', () => {
    const h = new Harness('n0', { incarnation: 5 });
    h.receive('n1', [{ type: 'suspect', incarnation: 0xffff_ffff, node: 'n0', from: 'n1' }]);
    expect(h.core.incarnation).toBe(5);
    expect(h.core.counters.messagesDropped.incarnation_exhausted).toBe(1);
  });

  it('declares a suspect dead after the maximum timeout when nobody confirms', () => {
    // 6 members: k = 2 confirmations expected; min = 4 s * log10(6) -> 4 s (floor of max(1, .78)).
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4', 'n5');
    // Everyone answers our probes (the suspect too), so our own probes confirm nothing.
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) h.answering.add(n);
    h.receive('n2', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n2' }]);
    const start = h.now;
    h.runUntil(start + 24_000 - 1);
    expect(h.state('n1')).toBe('suspect');
    h.runUntil(start + 24_000);
    expect(h.state('n1')).toBe('dead');
    expect(eventsOf(h, 'dead')).toHaveLength(1);
  });

  it('declares it dead at the minimum timeout once k members confirm', () => {
    const h = new Harness();
    h.know('n1', 'n2', 'n3', 'n4', 'n5');
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) h.answering.add(n);
    h.receive('n2', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n2' }]);
    const start = h.now;
    h.receive('n3', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n3' }]);
    h.receive('n4', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n4' }]);
    h.runUntil(start + 4_000 - 1);
    expect(h.state('n1')).toBe('suspect');
    h.runUntil(start + 4_000);
    expect(h.state('n1')).toBe('dead');
  });

  it('an alive with a higher incarnation clears the suspicion', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    h.answering.add('n1').add('n2');
    h.receive('n2', [{ type: 'suspect', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.receive('n1', [alive('n1', 2)]);
    expect(h.state('n1')).toBe('alive');
    h.runUntil(h.now + 60_000);
    expect(h.state('n1')).toBe('alive');
    expect(eventsOf(h, 'alive-again')).toHaveLength(1);
  });
});

describe('SwimCore: member states', () => {
  it('a dead message from the member itself means it left (never dead)', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n1', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n1' }]);
    expect(h.state('n1')).toBe('left');
    expect(eventsOf(h, 'left')).toHaveLength(1);
    expect(eventsOf(h, 'dead')).toHaveLength(0);
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    expect(h.state('n1')).toBe('left');
  });

  it('a member first thought dead that turns out to have left is marked left', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.receive('n3', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n1' }]);
    expect(h.state('n1')).toBe('left');
  });

  it('ignores news older than what it holds', () => {
    const h = new Harness();
    h.receive('n1', [alive('n1', 5)]);
    h.receive('n2', [{ type: 'dead', incarnation: 4, node: 'n1', from: 'n2' }]);
    h.receive('n2', [{ type: 'suspect', incarnation: 4, node: 'n1', from: 'n2' }]);
    h.receive('n2', [alive('n1', 5, '10.7.7.7')]);
    expect(h.core.member('n1')).toMatchObject({
      state: 'alive',
      incarnation: 5,
      addr: addrOf('n1').addr,
    });
  });

  it('a restarted member (higher incarnation) replaces its dead record, new address included', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.clear();
    h.receive('n1', [alive('n1', 1_000, '10.1.0.1')]);
    expect(h.core.member('n1')).toMatchObject({
      state: 'alive',
      addr: '10.1.0.1',
      incarnation: 1_000,
    });
    const [event] = eventsOf(h, 'alive-again');
    expect(event).toMatchObject({ previous: { state: 'dead', addr: addrOf('n1').addr } });
  });

  it('a higher incarnation moves even an alive member to its new address', () => {
    const h = new Harness();
    h.know('n1');
    h.clear();
    h.receive('n1', [alive('n1', 2, '10.1.0.1')]);
    expect(h.core.member('n1')?.addr).toBe('10.1.0.1');
    expect(eventsOf(h, 'updated')).toHaveLength(1);
  });

  it('refuses an address change at the same incarnation', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [alive('n1', 1, '10.1.0.1')]);
    expect(h.core.member('n1')?.addr).toBe(addrOf('n1').addr);
  });

  it('drops alive messages without an address, or of an incompatible protocol', () => {
    const h = new Harness();
    h.receive('n1', [{ ...alive('n1'), addr: '' }]);
    h.receive('n2', [{ ...alive('n2'), protocol: { min: 9, max: 9, current: 9 } }]);
    expect(h.core.memberCount()).toBe(1);
    expect(h.core.counters.messagesDropped.invalid).toBe(1);
    expect(h.core.counters.messagesDropped.incompatible).toBe(1);
  });

  it('an alive about itself that differs from what it is gets outbid', () => {
    const h = new Harness('n0', { incarnation: 3 });
    h.receive('n1', [alive('n0', 3, '10.5.5.5')]);
    expect(h.core.incarnation).toBe(4);
    h.receive('n1', [alive('n0', 4)]);
    expect(h.core.incarnation).toBe(4);
  });
});

describe('SwimCore: bounds', () => {
  it('fills the member table to membersMax and refuses a live newcomer past it', () => {
    const h = new Harness('n0', { config: { membersMax: 3 } });
    h.know('n1', 'n2');
    expect(h.core.memberCount()).toBe(3);
    h.receive('n9', [alive('n3')]);
    expect(h.core.memberCount()).toBe(3);
    expect(h.core.member('n3')).toBeUndefined();
    expect(h.core.counters.messagesDropped.table_full).toBe(1);
  });

  it('when full, a newcomer takes the place of the member gone longest', () => {
    const h = new Harness('n0', { config: { membersMax: 3 } });
    h.know('n1', 'n2');
    h.receive('n9', [{ type: 'dead', incarnation: 1, node: 'n2', from: 'n9' }]);
    h.clear();
    h.receive('n9', [alive('n3')]);
    expect(h.core.member('n3')?.state).toBe('alive');
    expect(h.core.member('n2')).toBeUndefined();
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'removed', reason: 'evicted' }),
    );
  });

  it('handles inboundMessagesPerPacketMax messages of a datagram and drops the rest', () => {
    const h = new Harness('n0', { config: { inboundMessagesPerPacketMax: 3 } });
    h.receive('n9', [alive('n1'), alive('n2'), alive('n3')]);
    expect(h.core.memberCount()).toBe(4);
    h.receive('n9', [alive('n4'), alive('n5'), alive('n6'), alive('n7')]);
    expect(h.core.memberCount()).toBe(7);
    expect(h.core.counters.messagesDropped.too_many_parts).toBe(1);
  });

  it('holds outboundPacketsMax packets for the shell and drops new ones past that', () => {
    const h = new Harness('n0', { config: { outboundPacketsMax: 2 } });
    const ping = (seqNo: number): Message => ({
      type: 'ping',
      seqNo,
      target: 'n0',
      source: 'n1',
      sourceAddr: '',
      sourcePort: 0,
    });
    for (let i = 0; i < 3; i++) {
      const [bytes] = packCompound([encode(ping(i))]);
      h.core.receive(addrOf('n1'), bytes!, 0);
    }
    expect(h.core.takeOutput().packets).toHaveLength(2);
    expect(h.core.counters.outboundPacketsDropped).toBe(1);
  });

  it('counts datagrams that do not decode, by reason, and carries on', () => {
    const h = new Harness();
    h.receiveBytes(addrOf('n1'), new Uint8Array([200, 1, 2]));
    h.receiveBytes(addrOf('n1'), new Uint8Array([]));
    h.receiveBytes(addrOf('n1'), encode(alive('n1')).subarray(0, 10));
    expect(h.core.counters.packetsDropped.unknown_type).toBe(1);
    expect(h.core.counters.packetsDropped.truncated).toBe(2);
    h.know('n1');
    expect(h.state('n1')).toBe('alive');
  });
});

describe('SwimCore: push-pull and join', () => {
  it('a join push-pull goes to each seed once, never to itself', () => {
    const h = new Harness();
    const started = h.core.join([addrOf('n1'), addrOf('n1'), addrOf('n0'), addrOf('n2')], 0);
    h.collect();
    expect(started).toBe(2);
    expect(h.pushPulls.map((p) => p.to)).toEqual([addrOf('n1'), addrOf('n2')]);
    expect(h.pushPulls[0]?.join).toBe(true);
    expect(h.pushPulls[0]?.msg.states.map((s) => s.name)).toEqual(['n0']);
  });

  it('contacts at most joinSeedsMax seeds per join', () => {
    const h = new Harness('n0', { config: { joinSeedsMax: 2 } });
    expect(h.core.join([addrOf('n1'), addrOf('n2'), addrOf('n3')], 0)).toBe(2);
    expect(h.core.counters.joinSeedsIgnored).toBe(1);
  });

  it('merges a push-pull answer: alive members join, unknown dead ones are recorded as dead', () => {
    const h = new Harness();
    h.core.join([addrOf('n1')], 0);
    h.collect();
    const id = h.pushPulls[0]!.id;
    h.core.pushPullResult(
      id,
      {
        type: 'pushPull',
        join: false,
        states: [pushState('n1', 'alive'), pushState('n2', 'alive'), pushState('n3', 'dead')],
      },
      0,
    );
    h.collect();
    expect([h.state('n1'), h.state('n2'), h.state('n3')]).toEqual(['alive', 'alive', 'dead']);
    expect(h.core.counters.pushPullsSucceeded).toBe(1);
  });

  it('a peer reporting a known alive member dead makes it suspect, not dead', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    const reply = h.core.receivePushPull(
      addrOf('n2'),
      { type: 'pushPull', join: false, states: [pushState('n1', 'dead')] },
      0,
    );
    expect(h.state('n1')).toBe('suspect');
    expect(reply.states.map((s) => [s.name, s.state]).sort()).toEqual([
      ['n0', 'alive'],
      ['n1', 'suspect'],
      ['n2', 'alive'],
    ]);
  });

  it('announces a joiner it learns from a join push-pull, not members merely new to it', () => {
    const h = new Harness();
    h.runUntil(5_000);
    h.core.receivePushPull(
      addrOf('n1'),
      { type: 'pushPull', join: false, states: [pushState('n1', 'alive')] },
      h.now,
    );
    h.core.receivePushPull(
      addrOf('n2'),
      { type: 'pushPull', join: true, states: [pushState('n2', 'alive')] },
      h.now,
    );
    h.collect();
    h.clear();
    h.runUntil(h.now + 2_000);
    const alives = ofType(h.takeSent(), 'alive').map((a) => a.node);
    expect(alives).toContain('n2');
    expect(alives).not.toContain('n1');
  });

  it('a failed push-pull is counted and changes nothing', () => {
    const h = new Harness();
    h.core.join([addrOf('n1')], 0);
    h.collect();
    h.core.pushPullResult(h.pushPulls[0]!.id, null, 10);
    expect(h.core.counters.pushPullsFailed).toBe(1);
    expect(h.core.memberCount()).toBe(1);
  });

  it('retries dead members with a push-pull every deadReconnectIntervalMs', () => {
    const h = new Harness();
    h.know('n1');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.clear();
    h.runUntil(h.now + 30_000);
    expect(h.pushPulls.some((p) => p.to.addr === addrOf('n1').addr)).toBe(true);
    expect(h.core.counters.reconnectAttempts).toBeGreaterThanOrEqual(1);
  });
});

describe('SwimCore: leave, force-remove, metadata', () => {
  it('a leave gossips dead-from-self, stops probing, and completes once sent', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    h.runUntil(3_000);
    h.clear();
    h.core.leave(h.now);
    h.collect();
    expect(h.core.isLeaving).toBe(true);
    expect(h.core.member('n0')?.state).toBe('left');
    h.runUntil(h.now + 10_000);
    const sent = h.takeSent();
    expect(ofType(sent, 'dead')).toContainEqual({
      type: 'dead',
      incarnation: 1,
      node: 'n0',
      from: 'n0',
    });
    expect(ofType(sent, 'ping')).toHaveLength(0);
    expect(h.core.leaveComplete).toBe(true);
  });

  it('force-remove refuses self and live members, removes a dead one and tells the cluster it left', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    expect(h.core.forceRemove('n0')).toBe('self');
    expect(h.core.forceRemove('n1')).toBe('alive');
    expect(h.core.forceRemove('nobody')).toBe('unknown');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.clear();
    expect(h.core.forceRemove('n1')).toBe('removed');
    h.collect();
    expect(h.core.member('n1')).toBeUndefined();
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'removed', reason: 'forced' }));
    h.runUntil(h.now + 2_000);
    expect(ofType(h.takeSent(), 'dead')).toContainEqual({
      type: 'dead',
      incarnation: 1,
      node: 'n1',
      from: 'n1',
    });
  });

  it('a force-removed member stays removed under stale news, and returns when really back', () => {
    const h = new Harness();
    h.know('n1', 'n2');
    h.receive('n2', [{ type: 'dead', incarnation: 1, node: 'n1', from: 'n2' }]);
    h.core.forceRemove('n1');
    h.receive('n2', [alive('n1', 1)]);
    h.core.receivePushPull(
      addrOf('n2'),
      { type: 'pushPull', join: false, states: [pushState('n1', 'dead')] },
      h.now,
    );
    expect(h.core.member('n1')).toBeUndefined();
    h.receive('n1', [alive('n1', 2)]);
    expect(h.state('n1')).toBe('alive');
  });

  it('setMeta gossips the new metadata under a new incarnation', () => {
    const h = new Harness();
    h.know('n1');
    h.clear();
    h.core.setMeta(new Uint8Array([1, 2, 3]));
    expect(h.core.incarnation).toBe(2);
    h.runUntil(h.now + 1_000);
    const mine = ofType(h.takeSent(), 'alive').filter((a) => a.node === 'n0');
    expect(mine[0]?.meta).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => h.core.setMeta(new Uint8Array(513))).toThrow(RangeError);
  });

  it('refuses a self it cannot announce', () => {
    const make = (name: string, incarnation = 1) =>
      new SwimCore({
        self: { name, addr: '10.0.0.1', port: PORT, meta: new Uint8Array(0) },
        incarnation,
        random: new SeededRandom(1),
      });
    expect(() => make('')).toThrow();
    expect(() => make('x'.repeat(300))).toThrow();
    expect(() => make('ok', -1)).toThrow();
  });
});
