// The outer layer of every gossip packet and stream frame: the cluster label in clear, then the
// payload — sealed with the keyring (label as additional data) when keys are configured.
// Anything that does not open is reported with a reason and dropped by the caller.

import { CodecError } from './wire/codec-error.js';
import { addLabel, readLabel } from './wire/label.js';
import { KeyringError } from './security/keyring-error.js';
import { SEAL_OVERHEAD_BYTES, type Keyring } from './security/keyring.js';

export type DropReason = 'label_malformed' | 'label_mismatch' | 'decrypt_failed';

export type Opened = { ok: true; payload: Uint8Array } | { ok: false; reason: DropReason };

export class Envelope {
  private readonly labelBytes: Buffer;

  constructor(
    private readonly clusterName: string,
    private readonly keyring: Keyring | undefined,
  ) {
    this.labelBytes = Buffer.from(clusterName, 'utf8');
  }

  /** Extra bytes `seal` adds to a payload. */
  get overheadBytes(): number {
    return (
      addLabel(this.clusterName, new Uint8Array(0)).length +
      (this.keyring ? SEAL_OVERHEAD_BYTES : 0)
    );
  }

  seal(payload: Uint8Array): Uint8Array {
    const body = this.keyring ? this.keyring.seal(payload, this.labelBytes) : payload;
    return addLabel(this.clusterName, body);
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
    try {
      return { ok: true, payload: this.keyring.open(labelled.payload, this.labelBytes) };
    } catch (err) {
      if (err instanceof KeyringError) return { ok: false, reason: 'decrypt_failed' };
      throw err;
    }
  }
}
