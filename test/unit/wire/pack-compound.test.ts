import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/cluster/wire/codec-error.js';
import { encode, packCompound, splitPacket } from '../../../src/cluster/wire/codec.js';
import {
  COMPOUND_HEADER_BYTES,
  COMPOUND_PART_OVERHEAD_BYTES,
  COMPOUND_PARTS_MAX,
  PACKET_BYTES_MAX,
} from '../../../src/cluster/wire/limits.js';
import type { Message } from '../../../src/cluster/wire/messages.js';
import { arbGossipMessage } from '../../support/message-arbitraries.js';

/**
 * The fewest datagrams any order-keeping split can use, by brute force over every split point:
 * the simple model packCompound's greedy filling must match.
 */
function fewestDatagrams(lengths: number[], maxBytes: number): number {
  const fits = (from: number, to: number): boolean => {
    const count = to - from;
    if (count === 1) return (lengths[from] ?? 0) <= maxBytes;
    if (count > COMPOUND_PARTS_MAX) return false;
    let bytes = COMPOUND_HEADER_BYTES;
    for (let i = from; i < to; i++) bytes += COMPOUND_PART_OVERHEAD_BYTES + (lengths[i] ?? 0);
    return bytes <= maxBytes;
  };
  const best: number[] = [0];
  for (let to = 1; to <= lengths.length; to++) {
    let min = Infinity;
    for (let from = 0; from < to; from++) {
      if (fits(from, to)) min = Math.min(min, (best[from] ?? Infinity) + 1);
    }
    best.push(min);
  }
  return best[lengths.length] ?? Infinity;
}

const arbBatch = fc.array(arbGossipMessage, { maxLength: 40 }).chain((messages) => {
  const longest = Math.max(0, ...messages.map((m) => encode(m).length));
  return fc.tuple(
    fc.constant(messages),
    fc.integer({ min: Math.max(longest, 1), max: longest + 3_000 }),
  );
});

describe('packCompound', () => {
  it('never exceeds maxBytes, keeps every message in order, and uses the fewest datagrams', () => {
    fc.assert(
      fc.property(arbBatch, ([messages, maxBytes]) => {
        const encoded = messages.map((m) => encode(m));
        const datagrams = packCompound(encoded, maxBytes);
        for (const d of datagrams) expect(d.length).toBeLessThanOrEqual(maxBytes);
        expect(datagrams.flatMap((d) => splitPacket(d))).toEqual(messages);
        expect(datagrams.length).toBe(
          fewestDatagrams(
            encoded.map((e) => e.length),
            maxBytes,
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('fills 1400-byte datagrams by default', () => {
    const encoded = Array.from({ length: 500 }, (_, i) => encode({ type: 'nack', seqNo: i }));
    const datagrams = packCompound(encoded);
    for (const d of datagrams) expect(d.length).toBeLessThanOrEqual(PACKET_BYTES_MAX);
    // 7 bytes per nack part after the 2-byte header: 199 fit in 1,395 bytes.
    expect(datagrams.map((d) => splitPacket(d).length)).toEqual([199, 199, 102]);
  });

  it('sends a single message bare, not wrapped in a compound', () => {
    const ping = encode({
      type: 'ping',
      seqNo: 1,
      target: 'b',
      source: 'a',
      sourceAddr: '10.0.0.1',
      sourcePort: 7946,
    });
    expect(packCompound([ping])).toEqual([ping]);
    // A message that cannot share a datagram with its neighbours goes out bare as well.
    const nack = encode({ type: 'nack', seqNo: 2 });
    expect(packCompound([ping, nack], ping.length)).toEqual([ping, nack]);
  });

  it('starts a new compound after COMPOUND_PARTS_MAX parts', () => {
    const encoded = Array.from({ length: COMPOUND_PARTS_MAX + 1 }, (_, i) =>
      encode({ type: 'nack', seqNo: i }),
    );
    const datagrams = packCompound(encoded, 65_535);
    expect(datagrams.map((d) => splitPacket(d).length)).toEqual([COMPOUND_PARTS_MAX, 1]);
  });

  it('packs nothing into nothing', () => {
    expect(packCompound([])).toEqual([]);
  });

  it('throws CodecError for a message that can never fit, an empty one, or a compound', () => {
    const err: Message = { type: 'err', error: 'x'.repeat(100) };
    expect(() => packCompound([encode(err)], 50)).toThrow(CodecError);
    expect(() => packCompound([new Uint8Array(0)])).toThrow(CodecError);
    const compound = encode({ type: 'compound', parts: [{ type: 'nack', seqNo: 1 }] });
    expect(() => packCompound([compound])).toThrow(CodecError);
  });
});
