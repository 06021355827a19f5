// Cluster metrics (CONTRACT.md names), read from the membership layer when Prometheus scrapes:
// members by state from the member table, message and drop counts from the core's cumulative
// counters, local health from its latest event, discovery lookups and envelope drops as they
// happen. The membership core knows nothing of prom-client; this file subscribes to it.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterView } from '../cluster/cluster-view.js';
import type { SwimCounters } from '../cluster/swim/events.js';
import type { MemberStateName } from '../cluster/wire/messages.js';

const STATES: readonly MemberStateName[] = ['alive', 'suspect', 'dead', 'left'];

export interface ClusterMetricsSource {
  view: ClusterView;
  counters(): Readonly<SwimCounters>;
  localHealth(): number;
}

export class ClusterMetrics {
  readonly discoveryLookups: Counter<'outcome'>;
  readonly packetsDropped: Counter<'reason'>;

  constructor(registry: Registry, source: ClusterMetricsSource) {
    new Gauge({
      name: 'shoal_cluster_members',
      help: 'Members this node knows, by state (alive, suspect, dead, left).',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const counts = new Map<MemberStateName, number>(STATES.map((s) => [s, 0]));
        for (const member of source.view.members())
          counts.set(member.state, (counts.get(member.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    const messagesSeen = new Map<string, number>();
    new Counter({
      name: 'shoal_gossip_messages_total',
      help: 'Gossip messages sent and received, by direction and message type.',
      labelNames: ['direction', 'type'] as const,
      registers: [registry],
      collect() {
        const counters = source.counters();
        const advance = (direction: string, type: string, total: number): void => {
          const id = `${direction} ${type}`;
          this.inc({ direction, type }, total - (messagesSeen.get(id) ?? 0));
          messagesSeen.set(id, total);
        };
        for (const [type, n] of Object.entries(counters.messagesSent)) advance('out', type, n);
        for (const [type, n] of Object.entries(counters.messagesReceived)) advance('in', type, n);
      },
    });
    new Gauge({
      name: 'shoal_gossip_local_health',
      help: 'Lifeguard local health score: 0 is healthy; higher means this node is slow to process messages.',
      registers: [registry],
      collect() {
        this.set(source.localHealth());
      },
    });
    const invalidSeen = new Map<string, number>();
    new Counter({
      name: 'shoal_gossip_packets_invalid_total',
      help: 'Gossip datagrams that did not decode, by the codec reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
      collect() {
        for (const [reason, n] of Object.entries(source.counters().packetsDropped)) {
          this.inc({ reason }, n - (invalidSeen.get(reason) ?? 0));
          invalidSeen.set(reason, n);
        }
      },
    });
    this.packetsDropped = new Counter({
      name: 'shoal_gossip_packets_dropped_total',
      help: 'Peer packets and streams dropped before decoding: another cluster label, failed decryption, malformed framing.',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    this.discoveryLookups = new Counter({
      name: 'shoal_discovery_lookups_total',
      help: 'Peer discovery lookups, by outcome (srv, a, aaaa, static, empty, error).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  }
}
