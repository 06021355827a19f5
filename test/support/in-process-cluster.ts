// Several coordinators in one process, for unit tests of the replication logic: memory stores,
// one shared member table whose states the test sets, and peer calls routed straight to the
// target's handlers — or refused when the test has taken the target down. The real transport is
// covered by the peer RPC tests and the real-process cluster tests.

import type { ClusterView, MemberView, PlacementSettings } from '../../src/cluster/cluster-view.js';
import type { MemberStateName } from '../../src/cluster/wire/messages.js';
import { AntiEntropy, type AntiEntropyObserver } from '../../src/replication/anti-entropy.js';
import { Coordinator, type HintSink } from '../../src/replication/coordinator.js';
import { Partitioner } from '../../src/replication/partitioner.js';
import type { PeerCaller } from '../../src/replication/peer-rpc.js';
import { RecentDepartures } from '../../src/replication/recent-departures.js';
import { TombstonePolicy, type PurgeWitness } from '../../src/replication/tombstone-policy.js';
import { HybridLogicalClock } from '../../src/store/hlc.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { StoredRecord } from '../../src/store/record.js';

export const TEST_PARTITIONS = 16;

/** A member as the tests' peer callers address it: by name. */
export function testMember(name: string, state: MemberStateName): MemberView {
  return { name, addr: name, gossipPort: 7946, httpPort: 8080, state, incarnation: 1 };
}

export interface TestNode {
  name: string;
  store: MemoryStore;
  coordinator: Coordinator;
  antiEntropy: AntiEntropy;
  cluster: ClusterView;
  /** Hints this node's coordinator kept, in order. */
  hints: { target: string; record: StoredRecord }[];
  rpc: PeerCaller;
  events: Record<keyof AntiEntropyObserver, number>;
  departures: RecentDepartures;
}

export class InProcessCluster {
  readonly nodes = new Map<string, TestNode>();
  private readonly states = new Map<string, MemberStateName>();
  /** Nodes that refuse peer calls at once (crashed: connection refused). */
  readonly down = new Set<string>();
  /** Nodes that never answer peer calls (paused: the caller would wait for its timeout). */
  readonly hanging = new Set<string>();
  /** Nodes that never answer peer calls, which fail at their deadline, as over the wire. */
  readonly timingOut = new Set<string>();
  /** Peer calls made so far, by method. */
  readonly calls = new Map<string, number>();
  /** Placement settings members announce, by name (none announced when absent). */
  private readonly announced = new Map<string, PlacementSettings>();
  private generation = 0;
  private readonly partitioner: Partitioner;

  constructor(
    names: readonly string[],
    replicationFactor = 3,
    readonly tombstoneGraceMs = 60_000,
    readonly wallClock: () => number = Date.now,
    /** Keys per anti-entropy versions page: small ones make every comparison span pages. */
    readonly versionsPageMax?: number,
  ) {
    this.partitioner = new Partitioner(TEST_PARTITIONS, replicationFactor);
    for (const name of names) this.add(name);
  }

  add(name: string): TestNode {
    this.states.set(name, 'alive');
    this.generation++;
    const store = new MemoryStore(TEST_PARTITIONS);
    const generation = (): number => this.generation;
    const cluster: ClusterView & PurgeWitness = {
      selfName: name,
      joined: true,
      get generation() {
        return generation();
      },
      members: () => this.members(),
      forceRemove: () => 'alive',
    };
    const hints: TestNode['hints'] = [];
    const hintSink: HintSink = {
      add: (target, record) => {
        hints.push({ target, record });
        return Promise.resolve(true);
      },
    };
    const rpc = this.caller(name);
    const departures = new RecentDepartures(cluster, this.wallClock);
    const tombstones = new TombstonePolicy(
      this.tombstoneGraceMs,
      cluster,
      departures,
      this.wallClock,
    );
    const events = { repaired: 0, handedOff: 0, droppedAfterHandOff: 0, tombstonesPurged: 0 };
    const coordinator = new Coordinator({
      store,
      clock: new HybridLogicalClock(name, this.wallClock),
      cluster,
      partitioner: this.partitioner,
      rpc,
      observer: { request: () => undefined, readRepair: () => undefined },
      hints: hintSink,
      tombstones,
      departures,
      wallClock: this.wallClock,
    });
    const antiEntropy = new AntiEntropy(
      store,
      cluster,
      this.partitioner,
      rpc,
      tombstones,
      {
        repaired: (n) => (events.repaired += n),
        handedOff: (n) => (events.handedOff += n),
        droppedAfterHandOff: (n) => (events.droppedAfterHandOff += n),
        tombstonesPurged: (n) => (events.tombstonesPurged += n),
      },
      0,
      this.versionsPageMax,
    );
    const node: TestNode = {
      name,
      store,
      coordinator,
      antiEntropy,
      cluster,
      hints,
      rpc,
      events,
      departures,
    };
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): TestNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /** Sets the placement settings `name` announces, as every member sees them. */
  announce(name: string, settings: PlacementSettings): void {
    this.announced.set(name, settings);
    this.generation++;
  }

  /** Sets how every member sees `name` (gossip converged). */
  setState(name: string, state: MemberStateName): void {
    this.states.set(name, state);
    this.generation++;
    // As a node does on every membership event: a leave is seen when it happens.
    for (const node of this.nodes.values()) node.departures.update();
  }

  members(): MemberView[] {
    return [...this.states].map(([name, state]) => {
      const settings = this.announced.get(name);
      return settings === undefined
        ? testMember(name, state)
        : { ...testMember(name, state), settings };
    });
  }

  /** Every node that is up visits each partition it replicates or holds, `passes` times over. */
  async antiEntropy(passes = 1): Promise<void> {
    for (let pass = 0; pass < passes; pass++) {
      for (const node of this.nodes.values()) {
        if (this.down.has(node.name) || this.states.get(node.name) === 'left') continue;
        const visits = await node.antiEntropy.step();
        for (let i = 1; i < visits; i++) await node.antiEntropy.step();
      }
    }
  }

  /** The partition's replicas as every node computes them now. */
  replicasOf(partition: number): readonly string[] {
    const names = this.members()
      .filter((m) => m.state !== 'left')
      .map((m) => m.name);
    return this.partitioner.layout(names).replicasOf(partition);
  }

  private caller(from: string): PeerCaller {
    return {
      call: async (to, method, params, timeoutMs) => {
        this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
        await Promise.resolve();
        if (this.hanging.has(to.addr)) await new Promise(() => undefined);
        if (this.timingOut.has(to.addr)) {
          await new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`${to.addr} timed out`)), timeoutMs),
          );
        }
        const target = this.nodes.get(to.addr);
        if (target === undefined || this.down.has(to.addr) || this.down.has(from)) {
          throw new Error(`${to.addr} does not answer`);
        }
        const handlers = { ...target.coordinator.handlers(), ...target.antiEntropy.handlers() };
        const handler = handlers[method];
        if (handler === undefined) throw new Error(`no method ${method}`);
        // As over the wire: the callee gets its own copy, never the caller's objects.
        return structuredClone(await handler(structuredClone(params)));
      },
    };
  }
}
