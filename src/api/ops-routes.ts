// Probes and metrics: /healthz (the process and its event loop answer), /readyz (the node
// serves reads and writes, with reasons when it does not), /metrics (Prometheus text).

import type Router from '@koa/router';
import type { Registry } from 'prom-client';

export interface Readiness {
  /** Why the node is not ready; empty when it is. */
  notReadyReasons(): string[];
}

export function opsRoutes(router: Router, readiness: Readiness, registry: Registry): void {
  // Answering at all proves the event loop turns; a wedged loop never gets here and the
  // liveness probe times out, which is what restarts the pod.
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', (ctx) => {
    const reasons = readiness.notReadyReasons();
    ctx.status = reasons.length === 0 ? 200 : 503;
    ctx.body = reasons.length === 0 ? { status: 'ready' } : { status: 'not_ready', reasons };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
}
