import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Keyring,
  SEAL_OVERHEAD_BYTES,
  SEAL_VERSION,
} from '../../../src/cluster/security/keyring.js';
import {
  KeyringError,
  type KeyringErrorCode,
} from '../../../src/cluster/security/keyring-error.js';

const label = Buffer.from('shoal');
const text = (s: string): Uint8Array => Buffer.from(s);

function keyringCode(fn: () => unknown): KeyringErrorCode {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeyringError);
    return (err as KeyringError).code;
  }
  throw new Error('expected a KeyringError, nothing was thrown');
}

/** `to` can read what `from` sends, under the same label. */
function talks(from: Keyring, to: Keyring): boolean {
  const message = randomBytes(40);
  return Buffer.from(to.open(from.seal(message, label), label)).equals(message);
}

describe('keyring', () => {
  it('opens what it sealed, for any plaintext and additional data', () => {
    const ring = new Keyring([randomBytes(32)]);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2_000 }),
        fc.uint8Array({ maxLength: 300 }),
        (plain, ad) => {
          const sealed = ring.seal(plain, ad);
          expect(sealed.length).toBe(plain.length + SEAL_OVERHEAD_BYTES);
          expect(Buffer.from(ring.open(sealed, ad)).equals(Buffer.from(plain))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hides the plaintext and never repeats a nonce for the same message', () => {
    const ring = new Keyring([randomBytes(32)]);
    const plain = text('the same message, twice');
    const a = Buffer.from(ring.seal(plain, label));
    const b = Buffer.from(ring.seal(plain, label));
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from(plain))).toBe(false);
  });

  it('refuses to open with a wrong key', () => {
    const sealed = new Keyring([randomBytes(32)]).seal(text('hello'), label);
    expect(keyringCode(() => new Keyring([randomBytes(32)]).open(sealed, label))).toBe(
      'DECRYPT_FAILED',
    );
  });

  it('refuses to open under different additional data (another cluster label)', () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = ring.seal(text('hello'), text('prod'));
    expect(keyringCode(() => ring.open(sealed, text('staging')))).toBe('DECRYPT_FAILED');
    expect(keyringCode(() => ring.open(sealed, new Uint8Array(0)))).toBe('DECRYPT_FAILED');
  });

  it('refuses a sealed message with any byte changed', () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = ring.seal(text('tamper with me'), label);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      expect(keyringCode(() => ring.open(tampered, label))).toBe('DECRYPT_FAILED');
    }
  });

  it('refuses input that is too short, truncated, or of another version', () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = Buffer.from(ring.seal(text('x'), label));
    expect(keyringCode(() => ring.open(new Uint8Array(0), label))).toBe('DECRYPT_FAILED');
    expect(keyringCode(() => ring.open(sealed.subarray(0, SEAL_OVERHEAD_BYTES - 1), label))).toBe(
      'DECRYPT_FAILED',
    );
    expect(keyringCode(() => ring.open(sealed.subarray(0, sealed.length - 1), label))).toBe(
      'DECRYPT_FAILED',
    );
    // Version 1 (sealed plaintexts without their sealing time) and any later one.
    for (const version of [1, SEAL_VERSION + 1]) {
      const otherVersion = Buffer.from(sealed);
      otherVersion[0] = version;
      expect(keyringCode(() => ring.open(otherVersion, label))).toBe('DECRYPT_FAILED');
    }
  });

  it('seals and opens an empty plaintext', () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = ring.seal(new Uint8Array(0), label);
    expect(sealed.length).toBe(SEAL_OVERHEAD_BYTES);
    expect(ring.open(sealed, label).length).toBe(0);
  });

  it('rotates a key without a moment where two nodes cannot talk', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = new Keyring([k1]);
    const b = new Keyring([k1]);
    const both = (): void => {
      expect(talks(a, b)).toBe(true);
      expect(talks(b, a)).toBe(true);
    };
    both();
    // Step 1: install k2 everywhere as a secondary, one node at a time.
    b.addKey(k2);
    both();
    a.addKey(k2);
    both();
    // Step 2: make k2 primary, one node at a time; the other still opens with its secondary.
    b.useKey(k2);
    expect(Buffer.from(b.primaryKey).equals(k2)).toBe(true);
    both();
    a.useKey(k2);
    both();
    // Step 3: remove k1 everywhere.
    a.removeKey(k1);
    both();
    b.removeKey(k1);
    both();
    expect(b.keys().map((k) => Buffer.from(k).toString('hex'))).toEqual([k2.toString('hex')]);
    // k1 is gone for good: a packet sealed with it alone no longer opens.
    expect(keyringCode(() => b.open(new Keyring([k1]).seal(text('old'), label), label))).toBe(
      'DECRYPT_FAILED',
    );
  });

  it('is not understood by nodes that lack the new key when it switches primary too early', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = new Keyring([k1]);
    const b = new Keyring([k1, k2]);
    b.useKey(k2);
    // b still opens a's packets, but a cannot open b's: install everywhere before switching.
    expect(talks(a, b)).toBe(true);
    expect(keyringCode(() => talks(b, a))).toBe('DECRYPT_FAILED');
  });

  it('rejects keys that are not 32 bytes, and an empty keyring', () => {
    expect(keyringCode(() => new Keyring([randomBytes(16)]))).toBe('BAD_KEY');
    expect(keyringCode(() => new Keyring([randomBytes(33)]))).toBe('BAD_KEY');
    expect(keyringCode(() => new Keyring([]))).toBe('NO_KEYS');
    const ring = new Keyring([randomBytes(32)]);
    expect(keyringCode(() => ring.addKey(randomBytes(31)))).toBe('BAD_KEY');
  });

  it('refuses to remove the primary or use a key that is not installed', () => {
    const k1 = randomBytes(32);
    const ring = new Keyring([k1]);
    expect(keyringCode(() => ring.removeKey(k1))).toBe('PRIMARY_KEY');
    expect(keyringCode(() => ring.useKey(randomBytes(32)))).toBe('KEY_NOT_INSTALLED');
    ring.removeKey(randomBytes(32)); // not installed: nothing to do
    expect(ring.keys()).toHaveLength(1);
  });

  it('keeps keys in order, primary first, without duplicates', () => {
    const [k1, k2, k3] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const ring = new Keyring([k1, k2, k1]);
    ring.addKey(k3);
    ring.addKey(k2);
    const hexKeys = (): string[] => ring.keys().map((k) => Buffer.from(k).toString('hex'));
    expect(hexKeys()).toEqual([k1, k2, k3].map((k) => k.toString('hex')));
    ring.useKey(k3);
    expect(hexKeys()).toEqual([k3, k1, k2].map((k) => k.toString('hex')));
  });

  it('is not changed by the caller changing its key arrays afterwards', () => {
    const k1 = randomBytes(32);
    const original = Buffer.from(k1);
    const ring = new Keyring([k1]);
    const sealed = ring.seal(text('x'), label);
    k1.fill(0);
    ring.keys()[0]?.fill(0);
    ring.primaryKey.fill(0);
    expect(Buffer.from(ring.primaryKey).equals(original)).toBe(true);
    expect(Buffer.from(ring.open(sealed, label)).toString()).toBe('x');
  });

  it('reads keys from base64 text, first as primary, and rejects bad text', () => {
    const [k1, k2] = [randomBytes(32), randomBytes(32)];
    const ring = Keyring.fromBase64([k1.toString('base64'), ` ${k2.toString('base64')}\n`]);
    expect(Buffer.from(ring.primaryKey).equals(k1)).toBe(true);
    expect(ring.keys()).toHaveLength(2);
    expect(keyringCode(() => Keyring.fromBase64(['not base64!']))).toBe('BAD_KEY');
    expect(keyringCode(() => Keyring.fromBase64([randomBytes(16).toString('base64')]))).toBe(
      'BAD_KEY',
    );
    expect(keyringCode(() => Keyring.fromBase64([k1.toString('base64').slice(0, -1)]))).toBe(
      'BAD_KEY',
    );
  });
});
