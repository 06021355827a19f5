// Raised when bytes read back from disk do not form a record: the node answers 500 for that key
// and logs it, and keeps serving every other key.
export class StoreCorruptionError extends Error {
  readonly code = 'STORE_CORRUPT';
  constructor(message: string) {
    super(message);
    this.name = 'StoreCorruptionError';
  }
}
