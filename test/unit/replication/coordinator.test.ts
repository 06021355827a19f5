import { describe, expect, it } from 'vitest';
import {
  fromWire,
  required,
  toWire,
  type WireRecord,
} from '../../../src/replication/coordinator.js';
import type { StoredRecord } from '../../../src/store/record.js';

describe('quorum arithmetic', () => {
  it.each([
    ['one', 3, 1],
    ['quorum', 3, 2],
    ['all', 3, 3],
    ['quorum', 5, 3],
    ['quorum', 4, 3],
    ['quorum', 1, 1],
    ['all', 1, 1],
    ['one', 0, 0],
  ] as const)('%s of %i replicas needs %i', (level, n, needed) => {
    expect(required(level, n)).toBe(needed);
  });
});

describe('records between nodes', () => {
  const record: StoredRecord = {
    key: 'users/42',
    value: Buffer.from([0, 1, 2, 255]),
    contentType: 'application/octet-stream',
    version: { wallMs: 1_795_930_516_092, counter: 3, node: 'shoal-1' },
    tombstone: false,
    expiresAtMs: 0,
  };

  it('round-trip exactly', () => {
    expect(fromWire(toWire(record))).toEqual(record);
  });

  it('accepts the plain Uint8Array msgpack decodes binary into', () => {
    const wire = { ...toWire(record), value: new Uint8Array([9, 8]) };
    expect(fromWire(wire).value.equals(Buffer.from([9, 8]))).toBe(true);
  });

  it.each([
    ['a missing key', { key: undefined }],
    ['a string value', { value: 'text' }],
    ['a fractional counter', { counter: 1.5 }],
    ['a string tombstone flag', { tombstone: 'yes' }],
  ])('refuses a record with %s', (_, change) => {
    expect(() => fromWire({ ...toWire(record), ...change } as unknown as WireRecord)).toThrow(
      /malformed/,
    );
  });
});
