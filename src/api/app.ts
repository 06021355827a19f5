// The Koa application: the request context (ids, errors, metrics), then the routers. Route
// groups are mounted by path prefix: a request is matched only against the routes of its prefix
// (the key-value routes carry nearly all traffic and should not be tested against every other
// route first). Unknown paths and methods end in the same JSON error shape as everything else.

import Koa from 'koa';
import Router from '@koa/router';
import compose from 'koa-compose';
import { ShoalError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import { requestContext } from './request-context.js';

/** A group of routes whose paths all start with `prefix` ('' for any path). */
export interface RouteGroup {
  prefix: string;
  add(router: Router): void;
}

export function createApp(groups: RouteGroup[], metrics: NodeMetrics, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // Errors are answered by the boundary and logged there; Koa's default handler would print
  // stacks to stderr.
  app.silent = true;
  app.use(requestContext(metrics, logger));
  const routers = new Map<string, Router>();
  for (const group of groups) {
    let router = routers.get(group.prefix);
    if (router === undefined) {
      router = new Router();
      routers.set(group.prefix, router);
    }
    group.add(router);
  }
  // Longest prefix first, so '/v1/kv' wins over ''.
  const mounted = [...routers]
    .sort(([a], [b]) => b.length - a.length)
    .map(([prefix, router]) => ({
      prefix,
      handle: compose<Koa.Context>([
        router.routes() as Koa.Middleware,
        router.allowedMethods({
          throw: true,
          methodNotAllowed: () =>
            new ShoalError('METHOD_NOT_ALLOWED', 'method not allowed on this path'),
          notImplemented: () => new ShoalError('METHOD_NOT_ALLOWED', 'method not supported'),
        }) as Koa.Middleware,
      ]),
    }));
  app.use((ctx, next) => {
    for (const { prefix, handle } of mounted) {
      if (ctx.path.startsWith(prefix)) return handle(ctx, next);
    }
    return next();
  });
  return app;
}
