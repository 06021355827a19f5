// The one place errors become responses: a ShoalError keeps its code and status; errors from
// Koa middleware (body parser, router) are mapped by their status; anything else is a 500 with
// a generic message — the stack goes to the log, never to the client.

import type { Context, Next } from 'koa';
import { ShoalError, isShoalError, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';

function fromHttpError(err: {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}): ShoalError | undefined {
  const status = typeof err.status === 'number' ? err.status : undefined;
  const message = typeof err.message === 'string' ? err.message : 'bad request';
  const byStatus: Partial<Record<number, ErrorCode>> = {
    400: 'BAD_BODY',
    404: 'ROUTE_NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'BODY_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    501: 'METHOD_NOT_ALLOWED',
  };
  const code = status === undefined ? undefined : byStatus[status];
  return code === undefined ? undefined : new ShoalError(code, message);
}

export function errorBoundary(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new ShoalError('ROUTE_NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const known = isShoalError(err) ? err : fromHttpError(err as Record<string, unknown>);
      const shown = known ?? new ShoalError('INTERNAL', 'internal error');
      if (known === undefined) {
        logger.error({ err, requestId: ctx.state.requestId as unknown }, 'request failed');
      }
      ctx.status = shown.status;
      ctx.body = { error: { code: shown.code, message: shown.message, ...shown.details } };
      // A body we refused to read may still be arriving: do not reuse the connection.
      if (shown.status === 413) ctx.set('Connection', 'close');
    }
  };
}
