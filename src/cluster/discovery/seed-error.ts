// A SHOAL_JOIN entry that is not `host`, `host:port`, `[ipv6]`, `[ipv6]:port` or a bare IPv6
// address. The message names the entry so an operator can find it in a long list.

export type SeedErrorReason =
  /** Nothing between two commas, or only spaces. */
  | 'empty'
  /** Not an IP literal and not a DNS host name. */
  | 'bad_host'
  /** The text after the last colon is not a port in 1..65535. */
  | 'bad_port'
  /** Several colons but not an IPv6 address, or brackets around something else. */
  | 'bad_ipv6';

export class SeedError extends Error {
  readonly code = 'BAD_SEED';
  readonly entry: string;
  readonly reason: SeedErrorReason;

  constructor(entry: string, reason: SeedErrorReason, message: string) {
    super(`seed "${entry}": ${message}`);
    this.name = 'SeedError';
    this.entry = entry;
    this.reason = reason;
  }
}
