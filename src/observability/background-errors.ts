// Failures of the background tasks (anti-entropy, hint delivery). Each task goes on
// after a failure and tries again on its next run, so a failure alone hurts nothing; one that
// repeats (a partition that never compares, a peer that refuses every hint) is what an operator
// needs to see. Every failure is counted in shoal_background_errors_total{task}; the log gets the
// first failure of a task at once and then at most one line per task per interval, with the
// number of failures in between, so a task failing every 40 ms does not flood it.

import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger.js';

export type BackgroundTask = 'anti-entropy' | 'hint-delivery';

/** Shortest time between two log lines about one task's failures. */
const BACKGROUND_ERROR_LOG_INTERVAL_MS = 60_000;

type BackgroundErrorReporter = (task: BackgroundTask) => (err: unknown) => void;

export function backgroundErrors(
  registry: Registry,
  logger: Logger,
  intervalMs = BACKGROUND_ERROR_LOG_INTERVAL_MS,
  monotonicMs: () => number = () => performance.now(),
): BackgroundErrorReporter {
  const failures = new Counter({
    name: 'shoal_background_errors_total',
    help: 'Runs of a background task (anti-entropy, hint delivery) that failed; the task tries again on its next run.',
    labelNames: ['task'] as const,
    registers: [registry],
  });
  return (task) => {
    const counter = failures.labels(task);
    // Shown at zero from the start, so a rate() or an alert has a series before the first failure.
    counter.inc(0);
    let lastLoggedMs: number | undefined;
    let unlogged = 0;
    return (err) => {
      counter.inc();
      const now = monotonicMs();
      if (lastLoggedMs !== undefined && now - lastLoggedMs < intervalMs) {
        unlogged++;
        return;
      }
      logger.warn({ err, task, failuresSinceLastLine: unlogged }, `${task} failed`);
      lastLoggedMs = now;
      unlogged = 0;
    };
  };
}
