// The one error the wire layer raises for bytes it cannot accept (from a peer) or values it cannot
// represent (from us). Callers on the receive path count it by `reason` and drop the packet; the
// code is stable so they can tell it from a bug without `instanceof` across module copies.

export type CodecErrorReason =
  /** The input ends before a field it declares. */
  | 'truncated'
  /** Bytes are left over after a complete message. */
  | 'trailing_bytes'
  /** The first byte is not a known message type. */
  | 'unknown_type'
  /** An enumerated field (member state) holds a value outside its set. */
  | 'bad_enum'
  /** A boolean byte is neither 0 nor 1. */
  | 'bad_boolean'
  /** A string is not well-formed UTF-8 (or, when encoding, holds a lone surrogate). */
  | 'bad_utf8'
  /** A length or count is over its limit in limits.ts. */
  | 'over_limit'
  /** A number does not fit its wire field (u8, u16, u32). */
  | 'out_of_range'
  /** A compound message inside a compound message. */
  | 'nested_compound'
  /** A label header that is present but empty, or a frame decoder used after it failed. */
  | 'malformed';

export class CodecError extends Error {
  readonly code = 'CODEC_ERROR';
  readonly reason: CodecErrorReason;

  constructor(reason: CodecErrorReason, message: string) {
    super(message);
    this.name = 'CodecError';
    this.reason = reason;
  }
}

export function isCodecError(err: unknown): err is CodecError {
  return err instanceof CodecError;
}
