import { describe, expect, it } from 'vitest';
import { CodecError, type CodecErrorReason } from '../../../src/cluster/wire/codec-error.js';
import { decode, encode, encodingLength } from '../../../src/cluster/wire/codec.js';
import {
  ACK_PAYLOAD_BYTES_MAX,
  ADDR_BYTES_MAX,
  COMPOUND_PARTS_MAX,
  ERROR_TEXT_BYTES_MAX,
  LABEL_BYTES_MAX,
  META_BYTES_MAX,
  NAME_BYTES_MAX,
  PACKET_BYTES_MAX,
  PUSH_PULL_STATES_MAX,
  STREAM_FRAME_BYTES_MAX,
} from '../../../src/cluster/wire/limits.js';
import type { AliveMessage, Message, PushNodeState } from '../../../src/cluster/wire/messages.js';
import { Envelope } from '../../../src/cluster/envelope.js';
import { Keyring } from '../../../src/cluster/security/keyring.js';

function codecReason(fn: () => unknown): CodecErrorReason {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).code).toBe('CODEC_ERROR');
    return (err as CodecError).reason;
  }
  throw new Error('expected a CodecError, nothing was thrown');
}

const protocol = { min: 1, max: 1, current: 1 };

function alive(fields: Partial<AliveMessage> = {}): AliveMessage {
  return {
    type: 'alive',
    incarnation: 1,
    node: 'shoal-0',
    addr: '10.0.0.1',
    port: 7946,
    meta: new Uint8Array(0),
    protocol,
    ...fields,
  };
}

function state(name: string): PushNodeState {
  return {
    name,
    addr: '10.0.0.1',
    port: 7946,
    meta: new Uint8Array(0),
    incarnation: 1,
    state: 'alive',
    protocol,
  };
}

/** A message at its limit encodes and decodes; one byte (or item) more is refused on encode. */
function expectLimit(atLimit: Message, overLimit: Message): void {
  expect(decode(encode(atLimit))).toEqual(atLimit);
  expect(codecReason(() => encode(overLimit))).toBe('over_limit');
  expect(codecReason(() => encodingLength(overLimit))).toBe('over_limit');
}

/** What the envelope adds to a payload at most: the longest label, and a seal. */
function largestEnvelopeOverhead(): number {
  return new Envelope('l'.repeat(LABEL_BYTES_MAX), new Keyring([Buffer.alloc(32, 7)]))
    .overheadBytes;
}

describe('codec limits', () => {
  it('takes a name of exactly NAME_BYTES_MAX bytes and refuses one byte more', () => {
    expectLimit(
      alive({ node: 'n'.repeat(NAME_BYTES_MAX) }),
      alive({ node: 'n'.repeat(NAME_BYTES_MAX + 1) }),
    );
    // The limit is in UTF-8 bytes, not characters: 85 x 3-byte euro signs is 255 bytes.
    expectLimit(alive({ node: '€'.repeat(85) }), alive({ node: '€'.repeat(85) + 'x' }));
  });

  it('takes an address of exactly ADDR_BYTES_MAX bytes and refuses one byte more', () => {
    expectLimit(
      alive({ addr: 'a'.repeat(ADDR_BYTES_MAX) }),
      alive({ addr: 'a'.repeat(ADDR_BYTES_MAX + 1) }),
    );
  });

  it('takes meta of exactly META_BYTES_MAX bytes and refuses one byte more', () => {
    expectLimit(
      alive({ meta: new Uint8Array(META_BYTES_MAX).fill(7) }),
      alive({ meta: new Uint8Array(META_BYTES_MAX + 1) }),
    );
  });

  it('takes an ack payload of exactly ACK_PAYLOAD_BYTES_MAX bytes and refuses one byte more', () => {
    expectLimit(
      { type: 'ack', seqNo: 1, payload: new Uint8Array(ACK_PAYLOAD_BYTES_MAX) },
      { type: 'ack', seqNo: 1, payload: new Uint8Array(ACK_PAYLOAD_BYTES_MAX + 1) },
    );
  });

  it('takes error text of exactly ERROR_TEXT_BYTES_MAX bytes and refuses one byte more', () => {
    expectLimit(
      { type: 'err', error: 'e'.repeat(ERROR_TEXT_BYTES_MAX) },
      { type: 'err', error: 'e'.repeat(ERROR_TEXT_BYTES_MAX + 1) },
    );
  });

  it('takes a compound of exactly COMPOUND_PARTS_MAX parts and refuses one more', () => {
    const parts = (n: number): Message[] =>
      Array.from({ length: n }, (_, i) => ({ type: 'nack', seqNo: i }));
    expectLimit(
      { type: 'compound', parts: parts(COMPOUND_PARTS_MAX) },
      { type: 'compound', parts: parts(COMPOUND_PARTS_MAX + 1) },
    );
  });

  it('takes a push-pull of exactly PUSH_PULL_STATES_MAX members and refuses one more', () => {
    const states = Array.from({ length: PUSH_PULL_STATES_MAX + 1 }, (_, i) => state(`s-${i}`));
    expectLimit(
      { type: 'pushPull', join: false, states: states.slice(0, PUSH_PULL_STATES_MAX) },
      { type: 'pushPull', join: false, states },
    );
  });

  it('refuses numbers that do not fit their field instead of truncating them', () => {
    const bad: Message[] = [
      { type: 'nack', seqNo: -1 },
      { type: 'nack', seqNo: 2 ** 32 },
      { type: 'nack', seqNo: 1.5 },
      { type: 'nack', seqNo: Number.NaN },
      alive({ incarnation: 2 ** 32 }),
      alive({ port: 65_536 }),
      alive({ protocol: { min: 1, max: 256, current: 1 } }),
      { type: 'pushPull', join: true, states: [{ ...state('a'), incarnation: -1 }] },
    ];
    for (const msg of bad) expect(codecReason(() => encode(msg))).toBe('out_of_range');
    // The largest values that do fit go through unchanged.
    const max = alive({
      incarnation: 2 ** 32 - 1,
      port: 65_535,
      protocol: { min: 255, max: 255, current: 255 },
    });
    expect(decode(encode(max))).toEqual(max);
  });

  it('refuses values outside the types it was promised', () => {
    const badState = { ...state('a'), state: 'gone' } as unknown as PushNodeState;
    expect(codecReason(() => encode({ type: 'pushPull', join: false, states: [badState] }))).toBe(
      'bad_enum',
    );
    const badBool = { type: 'pushPull', join: 1, states: [] } as unknown as Message;
    expect(codecReason(() => encode(badBool))).toBe('bad_boolean');
    expect(codecReason(() => encode({ type: 'bogus' } as unknown as Message))).toBe('unknown_type');
    const nested: Message = { type: 'compound', parts: [{ type: 'compound', parts: [] }] };
    expect(codecReason(() => encode(nested))).toBe('nested_compound');
    // A lone surrogate has no UTF-8 form; sending it would arrive as a different name.
    expect(codecReason(() => encode(alive({ node: 'a\uD800' })))).toBe('bad_utf8');
  });

  it('fits every datagram message at its limits in one packet with the largest label and a seal', () => {
    const name = 'n'.repeat(NAME_BYTES_MAX);
    const addr = 'a'.repeat(ADDR_BYTES_MAX);
    const largest: Message[] = [
      alive({ node: name, addr, meta: new Uint8Array(META_BYTES_MAX) }),
      {
        type: 'indirectPing',
        seqNo: 0,
        target: name,
        targetAddr: addr,
        targetPort: 0,
        wantNack: true,
        source: name,
        sourceAddr: addr,
        sourcePort: 0,
      },
      { type: 'ping', seqNo: 0, target: name, source: name, sourceAddr: addr, sourcePort: 0 },
      { type: 'ack', seqNo: 0, payload: new Uint8Array(ACK_PAYLOAD_BYTES_MAX) },
      { type: 'err', error: 'e'.repeat(ERROR_TEXT_BYTES_MAX) },
      { type: 'suspect', incarnation: 0, node: name, from: name },
    ];
    const overhead = largestEnvelopeOverhead();
    for (const msg of largest) {
      expect(encodingLength(msg) + overhead).toBeLessThanOrEqual(PACKET_BYTES_MAX);
    }
  });

  it('fits a push-pull at its limits in one stream frame with the largest label and a seal', () => {
    const full: PushNodeState = {
      ...state('n'.repeat(NAME_BYTES_MAX)),
      addr: 'a'.repeat(ADDR_BYTES_MAX),
      meta: new Uint8Array(META_BYTES_MAX),
    };
    const empty = encodingLength({ type: 'pushPull', join: false, states: [] });
    const perState = encodingLength({ type: 'pushPull', join: false, states: [full] }) - empty;
    const overhead = largestEnvelopeOverhead();
    expect(empty + PUSH_PULL_STATES_MAX * perState + overhead).toBeLessThanOrEqual(
      STREAM_FRAME_BYTES_MAX,
    );
  });
});

describe('codec rejects malformed input', () => {
  const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s/g, ''), 'hex');
  const cases: [string, string, CodecErrorReason][] = [
    ['empty input', '', 'truncated'],
    ['an unknown type', '0a', 'unknown_type'],
    ['the label marker as a type', 'f4', 'unknown_type'],
    ['a truncated nack', '08 000000', 'truncated'],
    ['a nack with a trailing byte', '08 00000001 00', 'trailing_bytes'],
    ['a name longer than the input', '03 00000001 05 6162 00', 'truncated'],
    ['an invalid UTF-8 byte', '03 00000001 01 ff 01 61', 'bad_utf8'],
    ['an encoded surrogate', '03 00000001 03 eda080 01 61', 'bad_utf8'],
    ['an overlong encoding', '03 00000001 02 c080 01 61', 'bad_utf8'],
    ['a boolean of 2', '06 02 00000000', 'bad_boolean'],
    ['a member state of 4', '06 00 00000001 0161 0161 0000 0000 00000000 04 010101', 'bad_enum'],
    ['meta over its limit', '04 00000001 0161 0161 0000 0201', 'over_limit'],
    ['a push-pull count over its limit, without the members', '06 00 00001f41', 'over_limit'],
    ['a compound inside a compound', '07 01 0002 0700', 'nested_compound'],
    ['a compound part longer than the input', '07 01 0009 0800000001', 'truncated'],
    ['a compound part with trailing bytes', '07 01 0006 0800000001 00', 'trailing_bytes'],
    ['a compound with bytes after its parts', '07 01 0005 0800000001 00', 'trailing_bytes'],
  ];
  for (const [what, bytes, reason] of cases) {
    it(`throws CodecError ${reason} for ${what}`, () => {
      expect(codecReason(() => decode(hex(bytes)))).toBe(reason);
    });
  }

  it('accepts the well-formed neighbours of those inputs', () => {
    expect(decode(hex('08 00000001'))).toEqual({ type: 'nack', seqNo: 1 });
    expect(decode(hex('07 01 0005 0800000001'))).toEqual({
      type: 'compound',
      parts: [{ type: 'nack', seqNo: 1 }],
    });
    expect(decode(hex('06 01 00000000'))).toEqual({ type: 'pushPull', join: true, states: [] });
  });
});
