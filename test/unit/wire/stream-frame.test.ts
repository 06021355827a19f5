import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/cluster/wire/codec-error.js';
import { FrameDecoder, frame } from '../../../src/cluster/wire/stream-frame.js';
import { STREAM_FRAME_BYTES_MAX } from '../../../src/cluster/wire/limits.js';

const hex = (frames: Uint8Array[]): string[] => frames.map((f) => Buffer.from(f).toString('hex'));

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

describe('stream framing', () => {
  const payloads = [
    new Uint8Array([1, 2, 3]),
    new Uint8Array(0),
    new Uint8Array([9]),
    new Uint8Array(300).fill(0xab),
  ];
  const stream = concat(payloads.map((p) => frame(p)));

  it('prefixes the payload with its u32 big-endian length', () => {
    expect(Array.from(frame(new Uint8Array([7, 8])))).toEqual([0, 0, 0, 2, 7, 8]);
  });

  it('gives back every frame whatever position the stream is split at', () => {
    for (let at = 0; at <= stream.length; at++) {
      const decoder = new FrameDecoder();
      const frames = [
        ...decoder.push(stream.subarray(0, at)),
        ...decoder.push(stream.subarray(at)),
      ];
      expect(hex(frames)).toEqual(hex(payloads));
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  it('gives back every frame when the stream arrives one byte at a time', () => {
    const decoder = new FrameDecoder();
    const frames: Uint8Array[] = [];
    for (const byte of stream) frames.push(...decoder.push(new Uint8Array([byte])));
    expect(hex(frames)).toEqual(hex(payloads));
  });

  it('gives back every frame for any payloads and any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          const bytes = concat(frames.map((p) => frame(p)));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const decoder = new FrameDecoder();
          const out: Uint8Array[] = [];
          let from = 0;
          for (const to of [...points, bytes.length]) {
            out.push(...decoder.push(bytes.subarray(from, to)));
            from = to;
          }
          expect(hex(out)).toEqual(hex(frames));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds back an unfinished frame and reports how much of it is buffered', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(frame(new Uint8Array([1, 2, 3])).subarray(0, 5))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(5);
  });

  it('holds only the bytes received, not the length a peer declares', () => {
    // 200 connections each declaring a frame of the largest size and sending one byte of it.
    const decoders = Array.from({ length: 200 }, () => new FrameDecoder());
    const before = process.memoryUsage().arrayBuffers;
    for (const decoder of decoders) {
      expect(decoder.push(concat([u32(STREAM_FRAME_BYTES_MAX), Uint8Array.of(7)]))).toEqual([]);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(STREAM_FRAME_BYTES_MAX);
    expect(decoders.every((d) => d.bufferedBytes === 5)).toBe(true);
  });

  it('accepts a declared length of exactly STREAM_FRAME_BYTES_MAX', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(u32(STREAM_FRAME_BYTES_MAX))).toEqual([]);
    expect(decoder.push(new Uint8Array(10))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(14);
  });

  it('throws CodecError as soon as a peer declares a length over the limit, and stays failed', () => {
    const decoder = new FrameDecoder();
    expect(() =>
      decoder.push(concat([u32(STREAM_FRAME_BYTES_MAX + 1), new Uint8Array(100)])),
    ).toThrow(CodecError);
    expect(() => decoder.push(frame(new Uint8Array([1])))).toThrow(CodecError);
    const huge = new FrameDecoder();
    expect(() => huge.push(u32(0xffff_ffff))).toThrow(CodecError);
  });

  it('refuses to frame a payload over the limit', () => {
    expect(() => frame(new Uint8Array(STREAM_FRAME_BYTES_MAX + 1))).toThrow(CodecError);
  });
});
