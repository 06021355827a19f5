// Errors of the keyring. DECRYPT_FAILED is what the receive path sees for a packet it cannot
// open (wrong key, another cluster's label, tampering, garbage): it counts and drops it. The other
// codes are configuration or operator mistakes, reported where keys are installed.

export type KeyringErrorCode =
  /** A key that is not 32 bytes (AES-256), or text that is not base64 of one. */
  | 'BAD_KEY'
  /** A keyring needs at least one key; plaintext clusters have no keyring at all. */
  | 'NO_KEYS'
  /** `useKey` of a key that is not installed. */
  | 'KEY_NOT_INSTALLED'
  /** `removeKey` of the primary key: switch the primary first. */
  | 'PRIMARY_KEY'
  /** No installed key opens the input, or it is too short or of an unknown version. */
  | 'DECRYPT_FAILED';

export class KeyringError extends Error {
  readonly code: KeyringErrorCode;

  constructor(code: KeyringErrorCode, message: string) {
    super(message);
    this.name = 'KeyringError';
    this.code = code;
  }
}
