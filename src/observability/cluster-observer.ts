// Subscribes logs and metrics to the membership shell's events, so the protocol code stays free
// of pino and prom-client.

import type { Membership } from '../cluster/membership.js';
import type { Logger } from './logger.js';
import { ClusterMetrics } from './cluster-metrics.js';
import type { Registry } from 'prom-client';

export function observeMembership(
  membership: Membership,
  logger: Logger,
  registry: Registry,
): void {
  const metrics = new ClusterMetrics(registry, {
    view: membership,
    counters: () => membership.counters,
    localHealth: () => membership.localHealth,
  });
  membership.on('drop', (reason) => metrics.packetsDropped.inc({ reason }));
  membership.on('discovery', (result) => {
    metrics.discoveryLookups.inc({ outcome: result.outcome });
    if (result.dnsError)
      logger.warn({ err: result.dnsError.message }, 'peer discovery: DNS lookup failed');
    for (const failure of result.seedFailures)
      logger.warn({ seed: failure }, 'peer discovery: seed lookup failed');
  });
  membership.on('joined', ({ alone }) =>
    logger.info(
      { alone },
      alone ? 'no peers found: bootstrapped a cluster of one' : 'joined the cluster',
    ),
  );
  membership.on('member', (event) => {
    if (event.type === 'health') {
      logger.debug({ score: event.score }, 'local health changed');
      return;
    }
    const { name, addr, port, incarnation, state } = event.member;
    const fields = { member: name, addr, gossipPort: port, incarnation, state };
    if (event.type === 'dead' || event.type === 'suspect')
      logger.warn(fields, `member ${event.type}`);
    else logger.info(fields, `member ${event.type}`);
  });
}
