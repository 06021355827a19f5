// The envelope around every peer packet and frame: the cluster label, and with gossip keys a seal
// that carries the time it was made, so a packet captured and sent again later is dropped.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Envelope, freshnessWindowMs, SEALED_FRESHNESS_MS } from '../../../src/cluster/envelope.js';
import { Keyring } from '../../../src/cluster/security/keyring.js';

const NOW_MS = 1_800_000_000_000;
const key = randomBytes(32);

function envelopeAt(clock: { nowMs: number }, keys: Uint8Array[] | 'plain' = [key]): Envelope {
  return new Envelope('shoal', keys === 'plain' ? undefined : new Keyring(keys), () => clock.nowMs);
}

describe('the envelope', () => {
  it('opens what a member with the same key sealed, adding exactly its stated overhead', () => {
    const clock = { nowMs: NOW_MS };
    const envelope = envelopeAt(clock);
    const payload = randomBytes(100);
    const sealed = envelope.seal(payload);
    expect(sealed.length - payload.length).toBe(envelope.overheadBytes);
    expect(Buffer.from(sealed).includes(payload)).toBe(false);
    const opened = envelopeAt({ nowMs: NOW_MS + 5 }).open(sealed);
    expect(opened.ok && Buffer.from(opened.payload).equals(payload)).toBe(true);
  });

  it('drops a sealed packet made further from its clock than the freshness window', () => {
    const sealed = envelopeAt({ nowMs: NOW_MS }).seal(Buffer.from('applyBatch'));
    const openAt = (nowMs: number): ReturnType<Envelope['open']> =>
      envelopeAt({ nowMs }).open(sealed);
    expect(openAt(NOW_MS + SEALED_FRESHNESS_MS).ok).toBe(true);
    expect(openAt(NOW_MS - SEALED_FRESHNESS_MS).ok).toBe(true);
    expect(openAt(NOW_MS + SEALED_FRESHNESS_MS + 1)).toEqual({ ok: false, reason: 'stale' });
    expect(openAt(NOW_MS - SEALED_FRESHNESS_MS - 1)).toEqual({ ok: false, reason: 'stale' });
  });

  it('keeps the window within a shorter grace period, so no replay outlives a purge', () => {
    expect(freshnessWindowMs(864_000_000)).toBe(SEALED_FRESHNESS_MS);
    expect(freshnessWindowMs(30_000)).toBe(30_000);
    const sealed = envelopeAt({ nowMs: NOW_MS }).seal(Buffer.from('applyBatch'));
    const openAt = (nowMs: number): ReturnType<Envelope['open']> =>
      new Envelope('shoal', new Keyring([key]), () => nowMs, freshnessWindowMs(30_000)).open(
        sealed,
      );
    expect(openAt(NOW_MS + 30_000).ok).toBe(true);
    expect(openAt(NOW_MS + 30_001)).toEqual({ ok: false, reason: 'stale' });
  });

  it('drops what another key sealed, or another cluster labelled', () => {
    const sealed = envelopeAt({ nowMs: NOW_MS }).seal(Buffer.from('x'));
    const otherKey = envelopeAt({ nowMs: NOW_MS }, [randomBytes(32)]);
    expect(otherKey.open(sealed)).toEqual({ ok: false, reason: 'decrypt_failed' });
    const otherCluster = new Envelope('other', new Keyring([key]), () => NOW_MS);
    expect(otherCluster.open(sealed)).toEqual({ ok: false, reason: 'label_mismatch' });
  });

  it('carries no time without keys: a plaintext cluster has nothing to check it against', () => {
    const plain = envelopeAt({ nowMs: NOW_MS }, 'plain');
    const payload = Buffer.from('ping');
    const labelled = plain.seal(payload);
    expect(labelled.length - payload.length).toBe(plain.overheadBytes);
    const opened = envelopeAt({ nowMs: NOW_MS + 10 * SEALED_FRESHNESS_MS }, 'plain').open(labelled);
    expect(opened.ok && Buffer.from(opened.payload).equals(payload)).toBe(true);
  });
});
