// The cluster-name label in front of every packet and stream, so a receiver drops traffic of
// another cluster (two StatefulSets sharing a network, a stale pod IP reused) before it spends
// anything on decoding or decrypting it. With keys configured the label is also the additional
// authenticated data of the seal, so it cannot be swapped on a sealed packet.
//
//   u8 LABEL_MARKER, u8 length (1..LABEL_BYTES_MAX), label UTF-8, payload
//
// An empty label writes no header at all, so a cluster without a name speaks the bare format.

import { isUtf8 } from 'node:buffer';
import { CodecError } from './codec-error.js';
import { LABEL_BYTES_MAX } from './limits.js';

/**
 * First byte of a labelled packet (memberlist uses the same number). Message type numbers grow
 * from 0 and are append-only; they must never reach this one (a test checks).
 */
export const LABEL_MARKER = 244;

const LABEL_HEADER_BYTES = 2;

// With the `u` flag a surrogate range matches only surrogates that are not part of a pair; such a
// label has no UTF-8 form and would come out of the receiver as another label.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export interface Labelled {
  label: string;
  payload: Uint8Array;
}

/** Bytes of the header `addLabel(label, ...)` puts in front of the payload. */
export function labelOverheadBytes(label: string): number {
  return label === '' ? 0 : LABEL_HEADER_BYTES + Buffer.byteLength(label, 'utf8');
}

/** `payload` with `label` in front; throws CodecError for a label over LABEL_BYTES_MAX. */
export function addLabel(label: string, payload: Uint8Array): Uint8Array {
  if (label === '') return payload;
  if (LONE_SURROGATE.test(label)) {
    throw new CodecError('bad_utf8', 'label is not a well-formed string');
  }
  const text = Buffer.from(label, 'utf8');
  if (text.length > LABEL_BYTES_MAX) {
    throw new CodecError(
      'over_limit',
      `label is ${text.length} bytes, over the limit of ${LABEL_BYTES_MAX}`,
    );
  }
  const out = Buffer.allocUnsafe(LABEL_HEADER_BYTES + text.length + payload.length);
  out[0] = LABEL_MARKER;
  out[1] = text.length;
  text.copy(out, LABEL_HEADER_BYTES);
  out.set(payload, LABEL_HEADER_BYTES + text.length);
  return out;
}

/**
 * The label and the payload after it (a view, not a copy). Bytes without the marker have the
 * label ''. Throws CodecError for a header that is truncated, empty or not UTF-8.
 */
export function readLabel(bytes: Uint8Array): Labelled {
  if (bytes[0] !== LABEL_MARKER) return { label: '', payload: bytes };
  const length = bytes[1];
  if (length === undefined) throw new CodecError('truncated', 'input ends inside the label header');
  if (length === 0)
    throw new CodecError('malformed', 'label header present but the label is empty');
  const end = LABEL_HEADER_BYTES + length;
  if (end > bytes.length) throw new CodecError('truncated', 'input ends inside the label');
  const text = bytes.subarray(LABEL_HEADER_BYTES, end);
  if (!isUtf8(text)) throw new CodecError('bad_utf8', 'label is not valid UTF-8');
  return {
    label: Buffer.from(text.buffer, text.byteOffset, text.length).toString('utf8'),
    payload: bytes.subarray(end),
  };
}
