// Whatever a DNS server (or anyone spoofing one) sends back, reading it either gives records,
// says "not ours", or raises DnsError: never another exception, never a crash of the node.

import fc from 'fast-check';
import { encode, type Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { DnsError } from '../../../src/cluster/discovery/dns-error.js';
import {
  encodeQuery,
  inspectReply,
  readAnswer,
  type DnsAnswer,
  type DnsQuestion,
} from '../../../src/cluster/discovery/dns-message.js';

const ID = 0x1234;
const QUESTION: DnsQuestion = {
  name: '_gossip._udp.shoal-headless.default.svc.cluster.local',
  type: 'SRV',
};
const RUNS = 2_000;

/** 'ignored', an answer, or 'error' for a DnsError; anything else thrown fails the property. */
function read(bytes: Buffer): 'ignored' | 'error' | DnsAnswer {
  try {
    const verdict = inspectReply(bytes, ID, QUESTION);
    if (verdict.kind === 'ignore') return 'ignored';
    return readAnswer(verdict.packet, 'test');
  } catch (err) {
    if (err instanceof DnsError) return 'error';
    throw err;
  }
}

const arbIpv4 = fc.ipV4();
const arbPod = fc.record({
  ordinal: fc.nat(99),
  ip: arbIpv4,
  port: fc.integer({ min: 1, max: 65_535 }),
});

/** A well-formed answer as cluster DNS would send it, for some pods. */
const arbAnswer = fc.array(arbPod, { minLength: 0, maxLength: 12 }).map((pods) => {
  const answers: Answer[] = pods.map((pod) => ({
    type: 'SRV',
    name: QUESTION.name,
    ttl: 5,
    data: { target: `shoal-${pod.ordinal}.svc`, port: pod.port, priority: 0, weight: 0 },
  }));
  const additionals: Answer[] = pods.map((pod) => ({
    type: 'A',
    name: `shoal-${pod.ordinal}.svc`,
    ttl: 5,
    data: pod.ip,
  }));
  const bytes = encode({
    type: 'response',
    id: ID,
    flags: 0,
    questions: [{ type: 'SRV', name: QUESTION.name }],
    answers,
    additionals,
  });
  return { pods, bytes };
});

/** A valid answer damaged: bits flipped, bytes set, cut short, extended; the id kept. */
const arbDamaged = fc
  .tuple(
    arbAnswer,
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
        fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ maxLength: 8 }) }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([{ bytes }, mutations]) => {
    let damaged = Buffer.from(bytes);
    for (const m of mutations) {
      if (m.kind === 'extend') {
        damaged = Buffer.concat([damaged, m.tail]);
        continue;
      }
      if (damaged.length <= 2) continue;
      // Past the id: damage that only changes the id is "not ours", tested on its own.
      const at = 2 + (m.at % (damaged.length - 2));
      if (m.kind === 'flip') damaged[at] = (damaged[at] ?? 0) ^ (1 << m.bit);
      else if (m.kind === 'set') damaged[at] = m.value;
      else damaged = damaged.subarray(0, at);
    }
    return damaged;
  });

describe('reading DNS answers', () => {
  it('reads every pod of a well-formed answer', () => {
    fc.assert(
      fc.property(arbAnswer, ({ pods, bytes }) => {
        const answer = read(bytes);
        expect(answer).not.toBe('error');
        expect(answer).not.toBe('ignored');
        if (typeof answer === 'string') return;
        expect(answer.answers).toHaveLength(pods.length);
        expect(answer.additionals.map((r) => (r.type === 'A' ? r.address : ''))).toEqual(
          pods.map((p) => p.ip),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('raises only DnsError for random bytes carrying our id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), (raw) => {
        const bytes = Buffer.from(raw);
        bytes.writeUInt16BE(ID, 0);
        read(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('raises only DnsError for damaged answers', () => {
    fc.assert(
      fc.property(arbDamaged, (bytes) => {
        read(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('ignores any message with another id, whatever it holds', () => {
    fc.assert(
      fc.property(arbAnswer, fc.integer({ min: 0, max: 0xffff }), ({ bytes }, id) => {
        fc.pre(id !== ID);
        const forged = Buffer.from(bytes);
        forged.writeUInt16BE(id, 0);
        expect(read(forged)).toBe('ignored');
      }),
      { numRuns: 200 },
    );
  });

  it('does not take its own query for an answer', () => {
    expect(read(encodeQuery(ID, QUESTION))).toBe('ignored');
  });
});
