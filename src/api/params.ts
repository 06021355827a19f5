// Parsing and validation of everything a client puts in a path or query string. Each failure is
// a ShoalError with a stable code; nothing here trusts its input.

import { CONSISTENCY_LEVELS, type Consistency } from '../config.js';
import { ShoalError } from '../errors.js';
import { CONTENT_TYPE_BYTES_MAX, DEFAULT_CONTENT_TYPE } from '../store/record.js';

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1_000;
/** Ten years: longer TTLs are almost certainly unit mistakes. */
export const TTL_MS_MAX = 10 * 365 * 24 * 3_600_000;

const LONE_SURROGATE = /\p{Surrogate}/u;
const TTL_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export type Query = Record<string, string | string[] | undefined>;

/** A lone surrogate has no UTF-8 form: Buffer.from would write U+FFFD in its place. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Checks a decoded key: 1..maxKeyBytes bytes of well-formed UTF-8. */
export function validateKey(key: string, maxKeyBytes: number): string {
  if (key.length === 0) throw new ShoalError('BAD_KEY', 'the key is empty');
  if (hasLoneSurrogate(key)) throw new ShoalError('BAD_KEY', 'the key is not valid UTF-8');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxKeyBytes) {
    throw new ShoalError('BAD_KEY', `the key is ${bytes} bytes; the limit is ${maxKeyBytes}`);
  }
  return key;
}

/** Decodes a percent-encoded path segment strictly (a malformed escape is a bad key). */
export function decodeKeyFromPath(encoded: string, maxKeyBytes: number): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new ShoalError('BAD_KEY', 'the key is not valid percent-encoded UTF-8');
  }
  return validateKey(key, maxKeyBytes);
}

/** A single query parameter; repeating it is an error rather than a silent pick. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value))
    throw new ShoalError('BAD_QUERY', `query parameter "${name}" is given more than once`);
  return value;
}

/**
 * A query parameter whose text must be exact: a key or a prefix. Koa's query parser turns bytes
 * that are not UTF-8 into U+FFFD, which names another key; this reads the raw query string and
 * refuses them, as the path forms of the same routes do.
 */
export function exactParam(
  querystring: string,
  name: string,
  code: 'BAD_KEY' | 'BAD_QUERY',
): string | undefined {
  let found: string | undefined;
  for (const pair of querystring.split('&')) {
    const eq = pair.indexOf('=');
    if (looseDecode(eq === -1 ? pair : pair.slice(0, eq)) !== name) continue;
    if (found !== undefined) {
      throw new ShoalError('BAD_QUERY', `query parameter "${name}" is given more than once`);
    }
    try {
      found = decodeURIComponent((eq === -1 ? '' : pair.slice(eq + 1)).replaceAll('+', ' '));
    } catch {
      throw new ShoalError(code, `query parameter "${name}" is not valid percent-encoded UTF-8`);
    }
  }
  return found;
}

function looseDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

export function parseConsistency(query: Query, fallback: Consistency): Consistency {
  const text = single(query, 'consistency');
  if (text === undefined) return fallback;
  if (!(CONSISTENCY_LEVELS as readonly string[]).includes(text)) {
    throw new ShoalError(
      'BAD_QUERY',
      `consistency must be one of ${CONSISTENCY_LEVELS.join(', ')}`,
    );
  }
  return text as Consistency;
}

/** `ttl=30s`, `5m`, `2h`, `1d`, `500ms`, or a bare number of seconds. */
export function parseTtl(query: Query): number | undefined {
  const text = single(query, 'ttl');
  if (text === undefined) return undefined;
  const match = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text);
  const ttlMs = match ? Number(match[1]) * (TTL_UNITS_MS[match[2] ?? 's'] ?? 1_000) : NaN;
  if (!(ttlMs > 0) || ttlMs > TTL_MS_MAX) {
    throw new ShoalError(
      'BAD_QUERY',
      'ttl must be a positive duration such as 30s, 5m, 2h or 3600 (seconds), at most 10 years',
    );
  }
  return ttlMs;
}

export function parseLimit(query: Query): number {
  const text = single(query, 'limit');
  if (text === undefined) return LIST_LIMIT_DEFAULT;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > LIST_LIMIT_MAX) {
    throw new ShoalError('BAD_QUERY', `limit must be a whole number from 1 to ${LIST_LIMIT_MAX}`);
  }
  return Number(text);
}

/** Cursors are the base64url form of the key a page ended on; opaque to clients. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function parseCursor(query: Query, maxKeyBytes: number): string | undefined {
  const text = single(query, 'cursor');
  if (text === undefined || text === '') return undefined;
  const bytes = /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  const key = bytes.toString('utf8');
  if (bytes.length === 0 || bytes.length > maxKeyBytes || !Buffer.from(key, 'utf8').equals(bytes)) {
    throw new ShoalError('BAD_QUERY', 'cursor is not one this server handed out');
  }
  return key;
}

export function parsePrefix(querystring: string, maxKeyBytes: number): string {
  const prefix = exactParam(querystring, 'prefix', 'BAD_QUERY') ?? '';
  // exactParam's decoding refuses any bytes that are not UTF-8 (lone surrogates included).
  if (Buffer.byteLength(prefix) > maxKeyBytes) {
    throw new ShoalError('BAD_QUERY', `prefix must be valid UTF-8 of at most ${maxKeyBytes} bytes`);
  }
  return prefix;
}

/** The Content-Type to store: the request's, or octet-stream when it sent none. */
export function contentTypeOf(header: string | undefined): string {
  if (header === undefined || header === '') return DEFAULT_CONTENT_TYPE;
  // Content types are latin1 header text; one byte per character.
  if (header.length > CONTENT_TYPE_BYTES_MAX || !/^[\x20-\x7e]+$/.test(header)) {
    throw new ShoalError(
      'BAD_BODY',
      `Content-Type must be printable ASCII of at most ${CONTENT_TYPE_BYTES_MAX} bytes`,
    );
  }
  return header;
}
