// Length-prefixed framing for TCP streams (push-pull, peer requests): each frame is a u32
// big-endian payload length, then the payload. The decoder checks a declared length against
// STREAM_FRAME_BYTES_MAX before it buffers a single byte of the frame, so a hostile peer can make
// one connection hold at most one frame's worth of memory. The frame is allocated at its declared
// length as soon as the header is in (bounded by the limit; the shell bounds the number of
// connections), so each received byte is copied once, however finely the stream is chunked.

import { CodecError } from './codec-error.js';
import { STREAM_FRAME_BYTES_MAX, STREAM_FRAME_HEADER_BYTES } from './limits.js';

/** `payload` with its length in front. Throws CodecError above STREAM_FRAME_BYTES_MAX. */
export function frame(payload: Uint8Array): Uint8Array {
  if (payload.length > STREAM_FRAME_BYTES_MAX) {
    throw new CodecError(
      'over_limit',
      `frame of ${payload.length} bytes, over the limit of ${STREAM_FRAME_BYTES_MAX}`,
    );
  }
  const out = Buffer.allocUnsafe(STREAM_FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, STREAM_FRAME_HEADER_BYTES);
  return out;
}

/**
 * The first allocation for a frame's body, at least (or what the chunk at hand holds of it); it
 * doubles as bytes arrive, up to the frame's length.
 */
const BODY_FIRST_BYTES = 4 * 1024;
const NO_BODY = new Uint8Array(0);

/**
 * Turns a byte stream back into frames. After it throws, the stream is out of step and every
 * later `push` throws too: the caller closes the connection.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(STREAM_FRAME_HEADER_BYTES);
  private headerFilled = 0;
  /**
   * The frame being received, in a buffer that grows as its bytes arrive (doubling, up to the
   * declared length), never allocated at the declared length up front: a peer declaring 8 MiB
   * frames on many connections and sending a byte now and then would otherwise hold 8 MiB each.
   * At most twice what was received is held, and no object per chunk. A frame is handed out as
   * its own buffer, never a view of the socket's chunk: values decoded from it are views, and
   * would keep the whole chunk alive.
   */
  private body = NO_BODY;
  private bodyLength = -1;
  private bodyFilled = 0;
  private failed = false;

  /** Frames completed by this chunk, in order (often none, possibly several). */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) {
      throw new CodecError('malformed', 'frame decoder used after a framing error');
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLength < 0) {
        const n = Math.min(STREAM_FRAME_HEADER_BYTES - this.headerFilled, chunk.length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFilled);
        this.headerFilled += n;
        at += n;
        if (this.headerFilled < STREAM_FRAME_HEADER_BYTES) break;
        const length = this.header.readUInt32BE(0);
        if (length > STREAM_FRAME_BYTES_MAX) {
          this.failed = true;
          throw new CodecError(
            'over_limit',
            `peer declared a frame of ${length} bytes, over the limit of ${STREAM_FRAME_BYTES_MAX}`,
          );
        }
        this.headerFilled = 0;
        this.bodyLength = length;
        this.bodyFilled = 0;
        this.body = new Uint8Array(Math.min(length, Math.max(BODY_FIRST_BYTES, chunk.length - at)));
      }
      const n = Math.min(this.bodyLength - this.bodyFilled, chunk.length - at);
      if (this.bodyFilled + n > this.body.length) this.grow(this.bodyFilled + n);
      this.body.set(chunk.subarray(at, at + n), this.bodyFilled);
      this.bodyFilled += n;
      at += n;
      if (this.bodyFilled === this.bodyLength) {
        frames.push(this.body);
        this.body = NO_BODY;
        this.bodyLength = -1;
      }
    }
    return frames;
  }

  private grow(needed: number): void {
    const grown = new Uint8Array(Math.min(this.bodyLength, Math.max(needed, this.body.length * 2)));
    grown.set(this.body.subarray(0, this.bodyFilled));
    this.body = grown;
  }

  /** Bytes of a frame started but not finished (a stream that ends here was cut short). */
  get bufferedBytes(): number {
    return this.bodyLength < 0 ? this.headerFilled : STREAM_FRAME_HEADER_BYTES + this.bodyFilled;
  }
}
