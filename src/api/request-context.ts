// Per-request bookkeeping and the one error boundary, in a single middleware (each Koa layer
// costs an async hop on every request):
// - a request id: the client's X-Request-Id when sane, else a fresh one; echoed in the response;
// - errors become responses: a ShoalError keeps its code and status; errors from Koa middleware
//   (body parser, router) are mapped by their status; anything else is a 500 with a generic
//   message — the stack goes to the log, never to the client;
// - the HTTP metrics, labelled by route pattern (never the raw key, which would explode label
//   cardinality), and a debug log line per request.

import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { ShoalError, isShoalError, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const UNMATCHED_ROUTE = 'unmatched';

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_BODY',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  501: 'METHOD_NOT_ALLOWED',
};

/** Errors thrown by Koa middleware (http-errors) carry a status; map the ones we expect. */
function fromHttpError(err: unknown): ShoalError | undefined {
  const { status, message } = (err ?? {}) as { status?: unknown; message?: unknown };
  const code = typeof status === 'number' ? STATUS_CODES[status] : undefined;
  return code === undefined
    ? undefined
    : new ShoalError(code, typeof message === 'string' ? message : 'bad request');
}

interface RouteSeries {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

/** Request ids: a random per-process prefix and a counter — unique, and cheap to make. */
function requestIds(): () => string {
  const prefix = randomBytes(6).toString('base64url');
  let counter = 0;
  return () => `${prefix}-${(counter++).toString(36)}`;
}

export function requestContext(metrics: NodeMetrics, logger: Logger) {
  // prom-client hashes the label object on every call; resolving each label set once keeps
  // that off the hot path. Cardinality is bounded: methods come from Node's HTTP parser, routes
  // are patterns, statuses a small set.
  const series = new Map<string, RouteSeries>();
  const seriesOf = (method: string, route: string, status: number): RouteSeries => {
    const id = `${method} ${route} ${status}`;
    let found = series.get(id);
    if (found === undefined) {
      found = {
        count: metrics.httpRequests.labels(method, route, String(status)),
        duration: metrics.httpDuration.labels(method, route),
      };
      series.set(id, found);
    }
    return found;
  };
  const nextRequestId = requestIds();

  return async function handleRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const offered = ctx.headers['x-request-id'];
    const requestId =
      typeof offered === 'string' && REQUEST_ID_PATTERN.test(offered) ? offered : nextRequestId();
    ctx.state.requestId = requestId;
    ctx.res.setHeader('X-Request-Id', requestId);
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new ShoalError('ROUTE_NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const known = isShoalError(err) ? err : fromHttpError(err);
      const shown = known ?? new ShoalError('INTERNAL', 'internal error');
      if (known === undefined) logger.error({ err, requestId }, 'request failed');
      ctx.status = shown.status;
      ctx.body = { error: { code: shown.code, message: shown.message, ...shown.details } };
      // A body we refused to read may still be arriving: do not reuse the connection.
      if (shown.status === 413) ctx.set('Connection', 'close');
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? UNMATCHED_ROUTE;
      const routeSeries = seriesOf(ctx.method, route, ctx.status);
      routeSeries.count.inc();
      routeSeries.duration.observe(seconds);
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { requestId, method: ctx.method, route, status: ctx.status, ms: seconds * 1000 },
          'request',
        );
      }
    }
  };
}
