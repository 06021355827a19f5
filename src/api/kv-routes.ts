// The /v1/kv API: raw value bytes in and out, the stored Content-Type, ETag = version.

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../config.js';
import { ShoalError } from '../errors.js';
import type { KvService } from '../kv/kv-service.js';
import { formatVersion } from '../store/version.js';
import {
  contentTypeOf,
  decodeKeyFromPath,
  encodeCursor,
  parseConsistency,
  parseCursor,
  parseLimit,
  parsePrefix,
  parseTtl,
} from './params.js';
import { readRawBody } from './raw-body.js';

const KV_PATH_PREFIX = '/v1/kv/';

export function kvRoutes(router: Router, kv: KvService, config: Config): void {
  // The router decodes parameters leniently; the key is decoded strictly from the raw path.
  const keyOf = (ctx: Context): string =>
    decodeKeyFromPath(ctx.path.slice(KV_PATH_PREFIX.length), config.maxKeyBytes);

  router.get('/v1/kv/{*key}', async (ctx) => {
    const key = keyOf(ctx);
    const found = await kv.get(key, parseConsistency(ctx.query, config.readConsistency));
    if (found === undefined)
      throw new ShoalError('NOT_FOUND', `key ${JSON.stringify(key)} not found`);
    const etag = `"${formatVersion(found.version)}"`;
    ctx.res.setHeader('ETag', etag);
    if (matchesEtag(ctx.get('if-none-match'), etag)) {
      ctx.status = 304;
      return;
    }
    // Set headers on the response directly: ctx.type would run a MIME lookup on every read.
    ctx.res.setHeader('Content-Type', found.contentType);
    ctx.body = found.value;
  });

  router.put('/v1/kv/{*key}', async (ctx) => {
    const key = keyOf(ctx);
    const consistency = parseConsistency(ctx.query, config.writeConsistency);
    const ttlMs = parseTtl(ctx.query);
    const contentType = contentTypeOf(ctx.get('content-type') || undefined);
    const value = await readRawBody(ctx.req, config.maxValueBytes);
    const version = await kv.put({ key, value, contentType, ttlMs, consistency });
    ctx.body = { key, version: formatVersion(version) };
  });

  router.delete('/v1/kv/{*key}', async (ctx) => {
    const key = keyOf(ctx);
    const version = await kv.delete(key, parseConsistency(ctx.query, config.writeConsistency));
    if (version === undefined)
      throw new ShoalError('NOT_FOUND', `key ${JSON.stringify(key)} not found`);
    ctx.body = { key, version: formatVersion(version) };
  });

  router.all('/v1/kv/', () => {
    throw new ShoalError('BAD_KEY', 'the key is empty');
  });

  router.get('/v1/kv', async (ctx) => {
    const page = await kv.list({
      prefix: parsePrefix(ctx.querystring, config.maxKeyBytes),
      after: parseCursor(ctx.query, config.maxKeyBytes),
      limit: parseLimit(ctx.query),
    });
    ctx.body = {
      keys: page.keys,
      next_cursor: page.resumeAfter === undefined ? null : encodeCursor(page.resumeAfter),
    };
  });
}

/** If-None-Match holds one ETag, a list, or `*`; weak forms (W/"...") compare by their value. */
function matchesEtag(header: string, etag: string): boolean {
  if (header === '') return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}
