// Per-request bookkeeping: a request id (the client's X-Request-Id when sane, else a fresh one),
// echoed in the response; the HTTP metrics, labelled by route pattern (never the raw key, which
// would explode label cardinality); and a debug log line per request.

import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const UNMATCHED_ROUTE = 'unmatched';

interface RouteSeries {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

export function requestContext(metrics: NodeMetrics, logger: Logger) {
  // prom-client hashes the label object on every call; resolving each label set once and
  // reusing its series keeps the metrics off the profile. Cardinality is bounded: methods come
  // from Node's HTTP parser, routes are patterns, statuses a small set.
  const series = new Map<string, RouteSeries>();
  const seriesOf = (method: string, route: string, status: string): RouteSeries => {
    const id = `${method} ${route} ${status}`;
    let found = series.get(id);
    if (found === undefined) {
      found = {
        count: metrics.httpRequests.labels(method, route, status),
        duration: metrics.httpDuration.labels(method, route),
      };
      series.set(id, found);
    }
    return found;
  };

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
      const routeSeries = seriesOf(method, route, String(ctx.status));
      routeSeries.count.inc();
      routeSeries.duration.observe(seconds);
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { requestId, method, route, status: ctx.status, ms: seconds * 1000 },
          'request',
        );
      }
    }
  };
}
