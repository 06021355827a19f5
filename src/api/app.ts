// The Koa application: the request context (ids, errors, metrics), then one router holding every
// route group. Unknown paths and methods end in the same JSON error shape as everything else.

import Koa from 'koa';
import Router from '@koa/router';
import { ShoalError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import { requestContext } from './request-context.js';

/** Adds a group of routes to the app's router. */
export type RouteGroup = (router: Router) => void;

export function createApp(groups: RouteGroup[], metrics: NodeMetrics, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // Errors are answered by the boundary and logged there; Koa's default handler would print
  // stacks to stderr.
  app.silent = true;
  app.use(requestContext(metrics, logger));
  // One router for every group: each request is matched once, not once per group.
  const router = new Router();
  for (const group of groups) group(router);
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () =>
        new ShoalError('METHOD_NOT_ALLOWED', 'method not allowed on this path'),
      notImplemented: () => new ShoalError('METHOD_NOT_ALLOWED', 'method not supported'),
    }),
  );
  return app;
}
