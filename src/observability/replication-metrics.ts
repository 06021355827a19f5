// Replication metrics (CONTRACT.md names), fed by the coordinator's observer interface.

import { Counter, type Registry } from 'prom-client';
import type { Consistency } from '../config.js';
import type {
  ReplicationObserver,
  ReplicationOp,
  ReplicationOutcome,
} from '../replication/coordinator.js';

export function replicationMetrics(registry: Registry): ReplicationObserver {
  const requests = new Counter({
    name: 'shoal_replication_requests_total',
    help: 'Coordinated requests by operation, consistency level and outcome (ok, unavailable).',
    labelNames: ['op', 'consistency', 'outcome'] as const,
    registers: [registry],
  });
  const repairs = new Counter({
    name: 'shoal_read_repairs_total',
    help: 'Stale or missing replicas sent the newest version after a read.',
    registers: [registry],
  });
  return {
    request(op: ReplicationOp, consistency: Consistency, outcome: ReplicationOutcome): void {
      requests.inc({ op, consistency, outcome });
    },
    readRepair(): void {
      repairs.inc();
    },
  };
}

/** Records anti-entropy copied between replicas; returns the function to report them with. */
export function antiEntropyMetrics(registry: Registry): (records: number) => void {
  const repairs = new Counter({
    name: 'shoal_anti_entropy_repairs_total',
    help: 'Records anti-entropy copied between replicas whose partition digests differed.',
    registers: [registry],
  });
  return (records) => repairs.inc(records);
}
