// The outer layer of every gossip packet and stream frame: the cluster label in clear, then the
// payload — sealed with the keyring (label as additional data) when keys are configured.
// Anything that does not open is reported with a reason and dropped by the caller.
//
// A sealed payload starts with the time it was sealed (u48 milliseconds, big-endian), and one
// sealed further from the receiver's clock than the freshness window is dropped as stale.
// Without it, a packet captured on the network could be sent again at any later time: a write
// replayed after the grace period had purged the delete that replaced it would bring the deleted
// value back. Within the window a replay changes nothing: a write older than the key's newest
// version loses, and a delete newer than the write is younger than the window, so not yet
// purged, as long as the window is no longer than the grace period (see freshnessWindowMs).

import { CodecError } from './wire/codec-error.js';
import { addLabel, readLabel } from './wire/label.js';
import { KeyringError } from './security/keyring-error.js';
import { SEAL_OVERHEAD_BYTES, type Keyring } from './security/keyring.js';

export type DropReason = 'label_malformed' | 'label_mismatch' | 'decrypt_failed' | 'stale';

/**
 * How far a sealed packet's time may be from the receiver's clock at most: far shorter than the
 * default grace period, far longer than the clock skew between members of a working cluster.
 */
export const SEALED_FRESHNESS_MS = 10 * 60 * 1000;

/** The window for a tombstone grace period: SEALED_FRESHNESS_MS, or the grace period if shorter. */
export function freshnessWindowMs(tombstoneGraceMs: number): number {
  return Math.min(SEALED_FRESHNESS_MS, tombstoneGraceMs);
}
const SEALED_AT_BYTES = 6;

export type Opened = { ok: true; payload: Uint8Array } | { ok: false; reason: DropReason };

export class Envelope {
  private readonly labelBytes: Buffer;

  constructor(
    private readonly clusterName: string,
    private readonly keyring: Keyring | undefined,
    private readonly wallClock: () => number = Date.now,
    private readonly freshnessMs = SEALED_FRESHNESS_MS,
  ) {
    this.labelBytes = Buffer.from(clusterName, 'utf8');
  }

  /** Extra bytes `seal` adds to a payload. */
  get overheadBytes(): number {
    return (
      addLabel(this.clusterName, new Uint8Array(0)).length +
      (this.keyring ? SEAL_OVERHEAD_BYTES + SEALED_AT_BYTES : 0)
    );
  }

  seal(payload: Uint8Array): Uint8Array {
    if (!this.keyring) return addLabel(this.clusterName, payload);
    const stamped = Buffer.allocUnsafe(SEALED_AT_BYTES + payload.length);
    stamped.writeUIntBE(this.wallClock(), 0, SEALED_AT_BYTES);
    stamped.set(payload, SEALED_AT_BYTES);
    return addLabel(this.clusterName, this.keyring.seal(stamped, this.labelBytes));
  }

  open(bytes: Uint8Array): Opened {
    let labelled;
    try {
      labelled = readLabel(bytes);
    } catch (err) {
      if (err instanceof CodecError) return { ok: false, reason: 'label_malformed' };
      throw err;
    }
    if (labelled.label !== this.clusterName) return { ok: false, reason: 'label_mismatch' };
    if (!this.keyring) return { ok: true, payload: labelled.payload };
    let stamped: Uint8Array;
    try {
      stamped = this.keyring.open(labelled.payload, this.labelBytes);
    } catch (err) {
      if (err instanceof KeyringError) return { ok: false, reason: 'decrypt_failed' };
      throw err;
    }
    // Sealed by a member with our key, so not garbage: too short, it is of another format.
    if (stamped.length < SEALED_AT_BYTES) return { ok: false, reason: 'decrypt_failed' };
    const view = Buffer.from(stamped.buffer, stamped.byteOffset, stamped.byteLength);
    const sealedAtMs = view.readUIntBE(0, SEALED_AT_BYTES);
    if (Math.abs(this.wallClock() - sealedAtMs) > this.freshnessMs) {
      return { ok: false, reason: 'stale' };
    }
    return { ok: true, payload: stamped.subarray(SEALED_AT_BYTES) };
  }
}
