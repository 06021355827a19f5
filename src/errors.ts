// One error hierarchy for everything a client can be told. Each code is stable (scripts match on
// it) and maps to exactly one HTTP status, here and nowhere else.

export const ERROR_STATUS = {
  BAD_KEY: 400,
  BAD_QUERY: 400,
  BAD_BODY: 400,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VALUE_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONFLICT: 409,
  INTERNAL: 500,
  QUORUM_UNAVAILABLE: 503,
  NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ShoalError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable fields sent beside code and message (e.g. needed/reached counts). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    // An answer to a client, not a fault: no stack trace is ever shown or logged for one, and
    // capturing it took 9% of the CPU time of answering reads of absent keys (404).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'ShoalError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isShoalError(err: unknown): err is ShoalError {
  return err instanceof ShoalError;
}
