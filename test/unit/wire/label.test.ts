import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, type CodecErrorReason } from '../../../src/cluster/wire/codec-error.js';
import { decode, encode } from '../../../src/cluster/wire/codec.js';
import {
  addLabel,
  LABEL_MARKER,
  labelOverheadBytes,
  readLabel,
} from '../../../src/cluster/wire/label.js';
import { LABEL_BYTES_MAX } from '../../../src/cluster/wire/limits.js';
import { MessageType } from '../../../src/cluster/wire/messages.js';

function codecReason(fn: () => unknown): CodecErrorReason | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CodecError) return err.reason;
    throw err;
  }
  return undefined;
}

const arbLabel = fc.string({ unit: 'binary', minLength: 1, maxLength: 63 });

describe('cluster label', () => {
  it('gives back the label and the payload it was put in front of', () => {
    fc.assert(
      fc.property(arbLabel, fc.uint8Array({ maxLength: 64 }), (label, payload) => {
        const labelled = addLabel(label, payload);
        expect(labelled.length).toBe(payload.length + labelOverheadBytes(label));
        const read = readLabel(labelled);
        expect(read.label).toBe(label);
        expect(Buffer.from(read.payload).equals(Buffer.from(payload))).toBe(true);
      }),
    );
  });

  it('reads a packet without the marker as label "" with the packet as payload', () => {
    const ping = encode({ type: 'nack', seqNo: 3 });
    const read = readLabel(ping);
    expect(read.label).toBe('');
    expect(decode(read.payload)).toEqual({ type: 'nack', seqNo: 3 });
  });

  it('writes no header for the empty label', () => {
    const payload = new Uint8Array([8, 0, 0, 0, 1]);
    expect(addLabel('', payload)).toEqual(payload);
    expect(labelOverheadBytes('')).toBe(0);
  });

  it('takes a label of exactly LABEL_BYTES_MAX bytes and refuses one byte more', () => {
    const atLimit = 'l'.repeat(LABEL_BYTES_MAX);
    expect(readLabel(addLabel(atLimit, new Uint8Array([1]))).label).toBe(atLimit);
    expect(codecReason(() => addLabel(atLimit + 'l', new Uint8Array(0)))).toBe('over_limit');
    expect(codecReason(() => addLabel('a\uDC00', new Uint8Array(0)))).toBe('bad_utf8');
  });

  it('uses a marker that no message type can ever be', () => {
    expect(Object.values(MessageType)).not.toContain(LABEL_MARKER);
    expect(Math.max(...Object.values(MessageType))).toBeLessThan(LABEL_MARKER);
  });

  it('throws CodecError for a malformed label header', () => {
    expect(codecReason(() => readLabel(new Uint8Array([LABEL_MARKER])))).toBe('truncated');
    expect(codecReason(() => readLabel(new Uint8Array([LABEL_MARKER, 0, 8])))).toBe('malformed');
    expect(codecReason(() => readLabel(new Uint8Array([LABEL_MARKER, 5, 0x61, 0x62])))).toBe(
      'truncated',
    );
    expect(codecReason(() => readLabel(new Uint8Array([LABEL_MARKER, 1, 0xff])))).toBe('bad_utf8');
  });

  it('reads any bytes or throws CodecError, never another error', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 32 }), (marked, tail) => {
        const bytes = marked ? new Uint8Array([LABEL_MARKER, ...tail]) : tail;
        codecReason(() => readLabel(bytes));
      }),
      { numRuns: 2_000 },
    );
  });
});
