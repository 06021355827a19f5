// Member metadata: it round-trips; the first build's shorter form, and a reader that knows only
// that form, both work; damaged bytes decode as "unknown" rather than failing the member.

import { describe, expect, it } from 'vitest';
import { decodeMeta, encodeMeta } from '../../../src/cluster/member-meta.js';

describe('member metadata', () => {
  it('carries the HTTP port and the placement settings', () => {
    const meta = { httpPort: 8080, partitions: 65_536, replicationFactor: 5 };
    expect(decodeMeta(encodeMeta(meta))).toEqual(meta);
  });

  it('starts as the first build wrote it, so a reader of that form still finds the HTTP port', () => {
    const bytes = encodeMeta({ httpPort: 8080, partitions: 256, replicationFactor: 3 });
    expect([...bytes.subarray(0, 3)]).toEqual([1, 0x1f, 0x90]);
  });

  it("reads the first build's form (HTTP port only) with the settings unknown", () => {
    expect(decodeMeta(Uint8Array.from([1, 0x1f, 0x90]))).toEqual({
      httpPort: 8080,
      partitions: 0,
      replicationFactor: 0,
    });
    // Settings cut short are unknown too; the port before them still counts.
    expect(decodeMeta(Uint8Array.from([1, 0x1f, 0x90, 0, 0]))).toEqual({
      httpPort: 8080,
      partitions: 0,
      replicationFactor: 0,
    });
  });

  it('reads unknown, short or empty metadata as all unknown', () => {
    const unknown = { httpPort: 0, partitions: 0, replicationFactor: 0 };
    expect(decodeMeta(new Uint8Array(0))).toEqual(unknown);
    expect(decodeMeta(Uint8Array.from([1, 0x1f]))).toEqual(unknown);
    expect(decodeMeta(Uint8Array.from([9, 1, 2, 3, 4, 5, 6, 7, 8]))).toEqual(unknown);
  });
});
