// The one error DNS discovery raises. The code is stable so the membership shell can log and count
// a failed lookup by cause without `instanceof` across module copies; `retryable` tells the query
// loop which failures may go away by asking again (a lost datagram, a server that cannot answer
// yet) and which will not (a refusal, a server that sends bytes we cannot read).

export type DnsErrorCode =
  /** No answer within the per-attempt timeout, on every attempt. */
  | 'DNS_TIMEOUT'
  /** The server answered SERVFAIL: it could not answer now (its upstream failed, it is starting). */
  | 'DNS_SERVFAIL'
  /** The server answered REFUSED: it will not answer this name for us (policy, not transient). */
  | 'DNS_REFUSED'
  /** The server answered FORMERR: it could not read our query. */
  | 'DNS_FORMERR'
  /** The server answered with another non-success rcode (NOTIMP and the like). */
  | 'DNS_RCODE'
  /** The answer carries our id and question but does not decode, or a record in it is invalid. */
  | 'DNS_MALFORMED'
  /** A socket error: unreachable server, refused TCP connection, connection closed mid-answer. */
  | 'DNS_NETWORK'
  /** The name to look up is not a valid DNS name (empty label, label over 63 bytes, ...). */
  | 'DNS_BAD_NAME'
  /** The server address is not an IP literal with a port in 1..65535. */
  | 'DNS_BAD_SERVER'
  /** There is no server to ask: none configured and none in resolv.conf. */
  | 'DNS_NO_SERVER'
  /** A host name (a seed) resolved, but to no address. */
  | 'DNS_NO_ADDRESS';

const RETRYABLE: ReadonlySet<DnsErrorCode> = new Set([
  'DNS_TIMEOUT',
  'DNS_SERVFAIL',
  'DNS_NETWORK',
]);

export class DnsError extends Error {
  readonly code: DnsErrorCode;

  constructor(code: DnsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DnsError';
    this.code = code;
  }

  /** Whether asking the same server again may give a different result. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function isDnsError(err: unknown): err is DnsError {
  return err instanceof DnsError;
}
