// The gossip encryption keys and the AES-256-GCM seal every peer packet and stream frame goes
// through when keys are configured. Rotation without downtime works as in memberlist: every node
// installs the new key as a secondary (it can now open both), then every node makes it primary
// (it now sends with it, and still opens the old), then every node removes the old key. At each
// step any two nodes can still talk.
//
// Sealed form:
//
//   u8 SEAL_VERSION, 12-byte nonce, ciphertext (as long as the plaintext), 16-byte GCM tag
//
// The nonce is random per seal: with 96 random bits, the chance of a repeat stays negligible for
// far more messages than a key sees before rotation. The authenticated data is the version byte
// followed by the caller's additional data (the cluster label), so a packet sealed for another
// cluster, or re-labelled on the way, fails to open.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyringError } from './keyring-error.js';

/** AES-256. */
export const KEY_BYTES = 32;
/**
 * Format of the sealed bytes; a receiver refuses any other. Version 2: the envelope puts the
 * sealing time at the start of every plaintext (envelope.ts), which version 1 did not.
 */
export const SEAL_VERSION = 2;
const VERSION_BYTES = 1;
/** GCM's standard nonce size. */
const NONCE_BYTES = 12;
/** GCM's full tag; shorter tags weaken forgery resistance. */
const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';

/** Bytes a seal adds to its plaintext: version, nonce and tag. */
export const SEAL_OVERHEAD_BYTES = VERSION_BYTES + NONCE_BYTES + TAG_BYTES;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new KeyringError('BAD_KEY', `a gossip key must be ${KEY_BYTES} bytes (AES-256)`);
  }
  // A private copy: the caller changing its array later must not change our key.
  return Buffer.from(key);
}

function authenticatedData(additionalData: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(VERSION_BYTES + additionalData.length);
  out[0] = SEAL_VERSION;
  out.set(additionalData, VERSION_BYTES);
  return out;
}

export class Keyring {
  /** Primary first, then secondaries in the order they were installed. Never empty. */
  private ring: Buffer[];

  /** The first key is the primary (the one `seal` uses). Each must be 32 bytes. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new KeyringError('NO_KEYS', 'a keyring needs at least one key');
    this.ring = [];
    for (const key of keys) {
      const copy = checkKey(key);
      if (!this.ring.some((k) => k.equals(copy))) this.ring.push(copy);
    }
  }

  /** Keys as standard base64 text (the form of SHOAL_GOSSIP_KEYS), primary first. */
  static fromBase64(list: readonly string[]): Keyring {
    return new Keyring(
      list.map((text, i) => {
        const trimmed = text.trim();
        if (!BASE64.test(trimmed)) {
          throw new KeyringError('BAD_KEY', `gossip key ${i + 1} is not base64`);
        }
        const key = Buffer.from(trimmed, 'base64');
        if (key.length !== KEY_BYTES) {
          throw new KeyringError(
            'BAD_KEY',
            `gossip key ${i + 1} is ${key.length} bytes; it must be ${KEY_BYTES} (AES-256)`,
          );
        }
        return key;
      }),
    );
  }

  get primaryKey(): Uint8Array {
    const primary = this.ring[0];
    if (primary === undefined) throw new Error('keyring invariant: no primary key');
    return Buffer.from(primary);
  }

  /** Every installed key, primary first (copies). */
  keys(): Uint8Array[] {
    return this.ring.map((k) => Buffer.from(k));
  }

  /** Installs `key` as a secondary: it opens packets but does not seal them. No-op if present. */
  addKey(key: Uint8Array): void {
    const copy = checkKey(key);
    if (!this.ring.some((k) => k.equals(copy))) this.ring.push(copy);
  }

  /** Makes an installed key the primary; the old primary stays installed as a secondary. */
  useKey(key: Uint8Array): void {
    const copy = checkKey(key);
    const index = this.ring.findIndex((k) => k.equals(copy));
    if (index < 0) {
      throw new KeyringError('KEY_NOT_INSTALLED', 'install a key with addKey before using it');
    }
    const [chosen] = this.ring.splice(index, 1);
    if (chosen !== undefined) this.ring.unshift(chosen);
  }

  /** Uninstalls a secondary key (no-op if absent). The primary cannot be removed. */
  removeKey(key: Uint8Array): void {
    const copy = checkKey(key);
    if (this.ring[0]?.equals(copy)) {
      throw new KeyringError('PRIMARY_KEY', 'make another key primary before removing this one');
    }
    this.ring = this.ring.filter((k) => !k.equals(copy));
  }

  /** Encrypts and authenticates `plaintext` with the primary key, binding `additionalData`. */
  seal(plaintext: Uint8Array, additionalData: Uint8Array): Uint8Array {
    const key = this.ring[0];
    if (key === undefined) throw new Error('keyring invariant: no primary key');
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD_BYTES + plaintext.length);
    out[0] = SEAL_VERSION;
    const nonce = randomBytes(NONCE_BYTES);
    nonce.copy(out, VERSION_BYTES);
    const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(authenticatedData(additionalData));
    let at = VERSION_BYTES + NONCE_BYTES;
    at += cipher.update(plaintext).copy(out, at);
    at += cipher.final().copy(out, at);
    cipher.getAuthTag().copy(out, at);
    return out;
  }

  /**
   * The plaintext of `sealed`, trying the primary key first, then each secondary. Throws
   * KeyringError DECRYPT_FAILED when none opens it, or when it is too short or of another version.
   */
  open(sealed: Uint8Array, additionalData: Uint8Array): Uint8Array {
    if (sealed.length < SEAL_OVERHEAD_BYTES) {
      throw new KeyringError('DECRYPT_FAILED', 'sealed input is shorter than its overhead');
    }
    if (sealed[0] !== SEAL_VERSION) {
      throw new KeyringError('DECRYPT_FAILED', `unknown seal version ${String(sealed[0])}`);
    }
    const nonce = sealed.subarray(VERSION_BYTES, VERSION_BYTES + NONCE_BYTES);
    const ciphertext = sealed.subarray(VERSION_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const aad = authenticatedData(additionalData);
    for (const key of this.ring) {
      const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const head = decipher.update(ciphertext);
      try {
        const tail = decipher.final();
        return tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        // Wrong key (or tampered input): GCM's tag check failed; try the next key.
      }
    }
    throw new KeyringError('DECRYPT_FAILED', 'no installed key opens this input');
  }
}
