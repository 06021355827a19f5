// The routes of the small Go store shoal descends from, kept so its clients keep working:
// PUT /put (JSON body), GET /get?key= and /get/{key} (value as a JSON string),
// DELETE /delete?key= and /delete/{key}, POST /set/{key}/{value}.

import type Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import type { Context } from 'koa';
import type { Config } from '../config.js';
import { ShoalError } from '../errors.js';
import type { KvService } from '../kv/kv-service.js';
import { formatVersion } from '../store/version.js';
import {
  decodeKeyFromPath,
  exactParam,
  hasLoneSurrogate,
  parseConsistency,
  parseTtl,
  validateKey,
} from './params.js';

const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body from the bytes the body parser kept (as Latin-1), decoded strictly as UTF-8: a
 * body that is not UTF-8 is refused rather than stored altered. The parser has already checked
 * the JSON; the UTF-8 reading differs from the Latin-1 one only inside strings, so it parses.
 */
function jsonBodyOf(latin1: string | undefined): unknown {
  if (latin1 === undefined || latin1 === '') {
    throw new ShoalError('BAD_BODY', 'the body is empty; send {"key": "...", "value": "..."}');
  }
  let text: string;
  try {
    text = STRICT_UTF8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    throw new ShoalError('BAD_BODY', 'the body is not valid UTF-8');
  }
  return JSON.parse(text) as unknown;
}

export function compatRoutes(router: Router, kv: KvService, config: Config): void {
  // JSON escaping can grow a value up to six times (\u00XX); leave room for that and the key.
  const jsonLimitBytes = config.maxValueBytes * 6 + config.maxKeyBytes * 6 + 1024;
  // Old clients often send JSON without a JSON Content-Type (curl -d): parse every body as JSON.
  const json = bodyParser({
    enableTypes: ['json'],
    // Latin-1 turns each byte into one character, so `rawBody` keeps the body's exact bytes.
    // Decoded as UTF-8 here, malformed bytes would become U+FFFD and change the value unseen;
    // jsonBodyOf decodes them strictly instead.
    encoding: 'latin1',
    jsonLimit: `${jsonLimitBytes}b`,
    strict: true,
    detectJSON: () => true,
    // A body that cannot be read (a bad gzip stream, an unknown Content-Encoding) is the client's
    // error like malformed JSON is, not a 500; one over the limit stays a 413.
    onerror: (err) => {
      if ((err as { status?: unknown }).status === 413) throw err;
      throw new ShoalError('BAD_BODY', `the body could not be read as JSON: ${err.message}`);
    },
  });

  const queryKey = (ctx: Context): string => {
    const key = exactParam(ctx.querystring, 'key', 'BAD_KEY');
    if (key === undefined) throw new ShoalError('BAD_KEY', 'query parameter "key" is required');
    return validateKey(key, config.maxKeyBytes);
  };
  const pathKey = (ctx: Context, route: string): string =>
    decodeKeyFromPath(ctx.path.slice(route.length), config.maxKeyBytes);

  const put = async (ctx: Context, key: string, text: string): Promise<void> => {
    const value = Buffer.from(text, 'utf8');
    if (value.length > config.maxValueBytes) {
      throw new ShoalError(
        'VALUE_TOO_LARGE',
        `the value is ${value.length} bytes; the limit is ${config.maxValueBytes}`,
      );
    }
    const version = await kv.put({
      key,
      value,
      contentType: TEXT_CONTENT_TYPE,
      ttlMs: parseTtl(ctx.query),
      consistency: parseConsistency(ctx.query, config.writeConsistency),
    });
    ctx.body = { key, version: formatVersion(version) };
  };
  const get = async (ctx: Context, key: string): Promise<void> => {
    const found = await kv.get(key, parseConsistency(ctx.query, config.readConsistency));
    if (found === undefined)
      throw new ShoalError('NOT_FOUND', `key ${JSON.stringify(key)} not found`);
    ctx.set('Content-Type', 'application/json; charset=utf-8');
    ctx.body = JSON.stringify(found.value.toString('utf8'));
  };
  const remove = async (ctx: Context, key: string): Promise<void> => {
    // The old store answered 200 whether or not the key existed; so does this route.
    const version = await kv.delete(key, parseConsistency(ctx.query, config.writeConsistency));
    ctx.body = { key, version: version === undefined ? null : formatVersion(version) };
  };

  router.put('/put', json, async (ctx) => {
    const body = jsonBodyOf(ctx.request.rawBody);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ShoalError(
        'BAD_BODY',
        'the body must be a JSON object {"key": "...", "value": "..."}',
      );
    }
    const { key, value } = body as Record<string, unknown>;
    if (typeof key !== 'string') throw new ShoalError('BAD_KEY', '"key" must be a string');
    if (typeof value !== 'string') throw new ShoalError('BAD_BODY', '"value" must be a string');
    // A lone surrogate (an escape such as \ud800) has no UTF-8 form; storing it would store U+FFFD.
    if (hasLoneSurrogate(value)) {
      throw new ShoalError('BAD_BODY', '"value" holds a lone surrogate, which is not text');
    }
    await put(ctx, validateKey(key, config.maxKeyBytes), value);
  });

  router.get('/get', (ctx) => get(ctx, queryKey(ctx)));
  router.get('/get/{*key}', (ctx) => get(ctx, pathKey(ctx, '/get/')));
  router.delete('/delete', (ctx) => remove(ctx, queryKey(ctx)));
  router.delete('/delete/{*key}', (ctx) => remove(ctx, pathKey(ctx, '/delete/')));

  // The value is the last path segment; everything before it is the key (keys may hold '/').
  router.post('/set/{*rest}', async (ctx) => {
    const rest = ctx.path.slice('/set/'.length);
    const slash = rest.lastIndexOf('/');
    if (slash <= 0) throw new ShoalError('BAD_KEY', 'use /set/{key}/{value}');
    let value: string;
    try {
      value = decodeURIComponent(rest.slice(slash + 1));
    } catch {
      throw new ShoalError('BAD_BODY', 'the value is not valid percent-encoded UTF-8');
    }
    await put(ctx, decodeKeyFromPath(rest.slice(0, slash), config.maxKeyBytes), value);
  });
}
