import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, encodingLength, splitPacket } from '../../../src/cluster/wire/codec.js';
import { MessageType, type Message } from '../../../src/cluster/wire/messages.js';
import { arbCompound, arbMessageByType } from '../../support/message-arbitraries.js';

describe('codec round trip', () => {
  for (const [type, arb] of Object.entries(arbMessageByType)) {
    it(`decodes what it encodes and predicts its exact length: ${type}`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<Message>, (msg) => {
          const bytes = encode(msg);
          expect(decode(bytes)).toEqual(msg);
          expect(encodingLength(msg)).toBe(bytes.length);
          expect(bytes[0]).toBe(MessageType[msg.type]);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('decodes a compound into its parts in order, and a bare message into itself', () => {
    fc.assert(
      fc.property(arbCompound, (compound) => {
        expect(splitPacket(encode(compound))).toEqual(compound.parts);
        for (const part of compound.parts) expect(splitPacket(encode(part))).toEqual([part]);
      }),
      { numRuns: 200 },
    );
  });

  it('returns byte fields that do not alias the packet (changing the packet later changes nothing)', () => {
    const bytes = encode({ type: 'ack', seqNo: 7, payload: new Uint8Array([1, 2, 3]) });
    const msg = decode(bytes);
    bytes.fill(0);
    expect(msg).toEqual({ type: 'ack', seqNo: 7, payload: new Uint8Array([1, 2, 3]) });
  });

  it('keeps a leading byte-order mark and other edge text intact', () => {
    const msg: Message = { type: 'suspect', incarnation: 0, node: '\uFEFFa', from: '\u{1F41F}\0' };
    expect(decode(encode(msg))).toEqual(msg);
  });
});

describe('wire layout', () => {
  // Pinned bytes: a change here means nodes of the old and new build cannot talk.
  it('lays out a ping as documented', () => {
    const bytes = encode({
      type: 'ping',
      seqNo: 0x01020304,
      target: 'b',
      source: 'a',
      sourceAddr: '10.0.0.1',
      sourcePort: 7946,
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '00' + '01020304' + '0162' + '0161' + '08' + Buffer.from('10.0.0.1').toString('hex') + '1f0a',
    );
  });

  it('lays out a compound as type, count, u16 lengths, then the parts', () => {
    const nack = encode({ type: 'nack', seqNo: 1 });
    const bytes = encode({
      type: 'compound',
      parts: [
        { type: 'nack', seqNo: 1 },
        { type: 'nack', seqNo: 1 },
      ],
    });
    expect(Array.from(bytes)).toEqual([7, 2, 0, 5, 0, 5, ...nack, ...nack]);
  });

  it('lays out an alive with u16 meta length and the protocol range last', () => {
    const bytes = encode({
      type: 'alive',
      incarnation: 9,
      node: 'n',
      addr: 'a',
      port: 1,
      meta: new Uint8Array([0xaa]),
      protocol: { min: 1, max: 2, current: 1 },
    });
    expect(Array.from(bytes)).toEqual([4, 0, 0, 0, 9, 1, 0x6e, 1, 0x61, 0, 1, 0, 1, 0xaa, 1, 2, 1]);
  });
});
