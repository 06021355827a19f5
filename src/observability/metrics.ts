// The Prometheus registry of one node (CONTRACT.md metric names). Each node owns its registry
// rather than prom-client's global one, so several nodes can live in one process (tests).
// Other parts register their metrics on `registry` from their own observers.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets from 250 µs to 5 s: a local read is sub-millisecond, a quorum write a few ms. */
const HTTP_DURATION_BUCKETS_S = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * How often the event-loop delay histogram (nodejs_eventloop_lag_*) takes a sample. prom-client's
 * 10 ms default wakes the process 100 times a second: an idle node's wakeups fell from 242/s to
 * 84/s with 100 ms, and a bare process with the default metrics went from 10 to 3 ms/s of CPU. A
 * stall still shows in full: the sample taken after it measures all of it.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'shoal_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'shoal_http_request_duration_seconds',
    help: 'Time from request to response, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS_S,
    registers: [this.registry],
  });

  constructor(liveKeyCount: () => number) {
    collectDefaultMetrics({
      register: this.registry,
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    // prom-client exports these totals as gauges, which Prometheus's lint (promtool check metrics)
    // rejects: a *_total name promises a counter. The per-type gauges beside them
    // (nodejs_active_handles{type}, ...) carry the same numbers.
    for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    new Gauge({
      name: 'shoal_store_keys',
      help: "Keys in this node's store that are neither deleted nor expired.",
      registers: [this.registry],
      collect() {
        this.set(liveKeyCount());
      },
    });
  }
}
