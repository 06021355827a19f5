// Per-request bookkeeping: a request id (the client's X-Request-Id when sane, else a fresh one),
// echoed in the response; the HTTP metrics, labelled by route pattern (never the raw key, which
// would explode label cardinality); and a debug log line per request.

import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const UNMATCHED_ROUTE = 'unmatched';

export function requestContext(metrics: NodeMetrics, logger: Logger) {
  return async function trackRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const offered = ctx.get('x-request-id');
    const requestId = REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? UNMATCHED_ROUTE;
      const method = ctx.method;
      metrics.httpRequests.inc({ method, route, status: String(ctx.status) });
      metrics.httpDuration.observe({ method, route }, seconds);
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { requestId, method, route, status: ctx.status, ms: seconds * 1000 },
          'request',
        );
      }
    }
  };
}
