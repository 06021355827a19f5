// Whatever a peer sends, decode either returns a message or throws CodecError: never another
// error, never a hang. And what it accepts it understood exactly: re-encoding gives the same bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/cluster/wire/codec-error.js';
import { decode, encode } from '../../../src/cluster/wire/codec.js';
import { arbMessage } from '../../support/message-arbitraries.js';

/** True when the bytes decoded (and re-encode to themselves), false when they were refused. */
function decodesOrCodecError(bytes: Uint8Array): boolean {
  let msg;
  try {
    msg = decode(bytes);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    return false;
  }
  expect(Buffer.from(encode(msg)).equals(Buffer.from(bytes))).toBe(true);
  return true;
}

/** A valid encoding damaged the ways a network or an attacker would damage it. */
const arbMutated: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    arbMessage.map((m) => encode(m)),
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
        fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ maxLength: 8 }) }),
        fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([valid, mutations]) => {
    let bytes = Buffer.from(valid);
    for (const m of mutations) {
      if (m.kind === 'extend') {
        bytes = Buffer.concat([bytes, m.tail]);
        continue;
      }
      if (bytes.length === 0) continue;
      const at = m.at % bytes.length;
      if (m.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << m.bit);
      else if (m.kind === 'set') bytes[at] = m.value;
      else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
      else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    }
    return new Uint8Array(bytes);
  });

describe('codec fuzz', () => {
  it('decodes or throws CodecError for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        decodesOrCodecError(bytes);
      }),
      {
        numRuns: 10_000,
      },
    );
  });

  it('decodes or throws CodecError for random bodies behind a valid type byte', () => {
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 }),
        fc.uint8Array({ maxLength: 128 }),
        (type, body) => {
          if (decodesOrCodecError(new Uint8Array([type, ...body]))) decoded++;
        },
      ),
      { numRuns: 10_000 },
    );
    // Some random inputs are valid messages, so the accepting path was exercised too.
    expect(decoded).toBeGreaterThan(0);
  });

  it('decodes or throws CodecError for bit-flipped, overwritten, truncated and extended messages', () => {
    fc.assert(
      fc.property(arbMutated, (bytes) => {
        decodesOrCodecError(bytes);
      }),
      { numRuns: 8_000 },
    );
  });

  it('rejects every strict prefix of a valid message', () => {
    fc.assert(
      fc.property(arbMessage, (msg) => {
        const bytes = encode(msg);
        for (let end = 0; end < bytes.length; end++) {
          expect(() => decode(bytes.subarray(0, end))).toThrow(CodecError);
        }
      }),
      { numRuns: 60 },
    );
  });
});
