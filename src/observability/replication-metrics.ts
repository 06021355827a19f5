// Replication metrics (CONTRACT.md names), fed by the coordinator's observer interface.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { Consistency } from '../config.js';
import type {
  ReplicationObserver,
  ReplicationOp,
  ReplicationOutcome,
} from '../replication/coordinator.js';
import type { AntiEntropyObserver } from '../replication/anti-entropy.js';
import type { HintEvent } from '../replication/hint-store.js';

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

/** Anti-entropy and rebalancing counters, as the observer anti-entropy reports to. */
export function antiEntropyMetrics(registry: Registry): AntiEntropyObserver {
  const repairs = new Counter({
    name: 'shoal_anti_entropy_repairs_total',
    help: 'Records anti-entropy copied between replicas whose partition digests differed.',
    registers: [registry],
  });
  const handOff = new Counter({
    name: 'shoal_handoff_records_total',
    help: 'Records of partitions this node no longer owns: pushed to the new owners, or dropped here once they held them.',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const purged = new Counter({
    name: 'shoal_tombstones_purged_total',
    help: 'Tombstones removed after the grace period, once every replica was in sync.',
    registers: [registry],
  });
  return {
    repaired: (records) => repairs.inc(records),
    handedOff: (records) => handOff.inc({ event: 'pushed' }, records),
    droppedAfterHandOff: (records) => handOff.inc({ event: 'dropped' }, records),
    tombstonesPurged: (records) => purged.inc(records),
  };
}

/** Hints waiting (asked at scrape time) and hint events; returns the event reporter. */
export function hintMetrics(
  registry: Registry,
  pending: () => number,
): (event: HintEvent, count: number) => void {
  new Gauge({
    name: 'shoal_hints_pending',
    help: 'Writes kept for replicas that missed them, waiting for delivery.',
    registers: [registry],
    collect() {
      this.set(pending());
    },
  });
  const events = new Counter({
    name: 'shoal_hints_total',
    help: 'Hints by event: stored for a replica, delivered to it, or dropped (full, expired, left).',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  return (event, count) => events.inc({ event }, count);
}
