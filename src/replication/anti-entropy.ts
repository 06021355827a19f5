// Anti-entropy: replicas of a partition compare their digests on a timer and, where they differ,
// exchange only the keys whose versions differ, in both directions. This heals what a write
// missed (a replica that was down or partitioned), and fills a member that restarted with an
// empty or old store. One partition is compared per step, so a full pass over 256 partitions
// takes PARTITION_STEP_MS x 256 and never crowds out client traffic.

import type { ClusterView, MemberView } from '../cluster/cluster-view.js';
import type { StoredRecord } from '../store/record.js';
import type { Store } from '../store/store.js';
import { compareVersions, type Version } from '../store/version.js';
import { fromWire, toWire, type WireRecord } from './coordinator.js';
import { layoutMembers, type Partitioner } from './partitioner.js';
import type { PeerRpcClient } from './peer-rpc.js';

/** Time between two partition comparisons: 256 partitions are all compared every ~10 s. */
export const PARTITION_STEP_MS = 40;
/** Records moved per partition per step, at most; the rest follow on the next pass. */
export const REPAIR_RECORDS_PER_STEP_MAX = 500;
const RPC_TIMEOUT_MS = 5_000;

type VersionEntry = [key: string, wallMs: number, counter: number, node: string];

export class AntiEntropy {
  private timer: NodeJS.Timeout | undefined;
  private cursor = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly cluster: ClusterView,
    private readonly partitioner: Partitioner,
    private readonly rpc: PeerRpcClient,
    private readonly onRepair: (records: number) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The RPC methods a replica answers for its peers' comparisons. */
  handlers(): Record<string, (params: unknown) => Promise<unknown>> {
    return {
      digest: (params) =>
        Promise.resolve(this.store.partitionSummary(partitionParam(params)).digest),
      versions: (params) => Promise.resolve(this.versionsOf(partitionParam(params))),
      fetch: (params) => {
        const keys = (params as { keys?: unknown }).keys;
        if (!Array.isArray(keys)) return Promise.reject(new Error('keys must be a list'));
        return Promise.resolve(
          keys.slice(0, REPAIR_RECORDS_PER_STEP_MAX).flatMap((key) => {
            const record = this.store.get(String(key));
            return record === undefined ? [] : [toWire(record)];
          }),
        );
      },
    };
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.step()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer !== undefined) this.schedule();
        });
    }, PARTITION_STEP_MS);
    this.timer.unref();
  }

  /** Compares the next partition this node replicates with its other live replicas. */
  private async step(): Promise<void> {
    if (!this.store.isOpen) return;
    const members = this.cluster.members();
    const layout = this.partitioner.layout(layoutMembers(members));
    const mine = layout.partitionsOf(this.cluster.selfName);
    if (mine.length === 0) return;
    const partition = mine[this.cursor++ % mine.length] as number;
    const byName = new Map(members.map((m) => [m.name, m]));
    const peers = layout
      .replicasOf(partition)
      .flatMap((name) => byName.get(name) ?? [])
      .filter((m) => m.name !== this.cluster.selfName && m.state === 'alive');
    for (const peer of peers) await this.compare(partition, peer);
  }

  private async compare(partition: number, peer: MemberView): Promise<void> {
    const to = { addr: peer.addr, port: peer.gossipPort };
    const theirDigest = await this.rpc.call(to, 'digest', { partition }, RPC_TIMEOUT_MS);
    if (theirDigest === this.store.partitionSummary(partition).digest) return;

    const theirs = new Map<string, Version>();
    for (const [key, wallMs, counter, node] of (await this.rpc.call(
      to,
      'versions',
      { partition },
      RPC_TIMEOUT_MS,
    )) as VersionEntry[]) {
      theirs.set(key, { wallMs, counter, node });
    }
    const toSend: StoredRecord[] = [];
    const toFetch: string[] = [];
    for (const record of this.store.scanPartition(partition)) {
      const their = theirs.get(record.key);
      theirs.delete(record.key);
      const order = their === undefined ? 1 : compareVersions(record.version, their);
      if (order > 0 && toSend.length < REPAIR_RECORDS_PER_STEP_MAX) toSend.push(record);
      if (order < 0 && toFetch.length < REPAIR_RECORDS_PER_STEP_MAX) toFetch.push(record.key);
    }
    // Keys only the peer holds.
    for (const key of theirs.keys()) {
      if (toFetch.length >= REPAIR_RECORDS_PER_STEP_MAX) break;
      toFetch.push(key);
    }

    let repaired = 0;
    await Promise.all(
      toSend.map(async (record) => {
        await this.rpc.call(to, 'apply', toWire(record), RPC_TIMEOUT_MS);
        repaired++;
      }),
    );
    if (toFetch.length > 0) {
      const fetched = (await this.rpc.call(
        to,
        'fetch',
        { keys: toFetch },
        RPC_TIMEOUT_MS,
      )) as WireRecord[];
      for (const wire of fetched) if (await this.store.apply(fromWire(wire))) repaired++;
    }
    if (repaired > 0) this.onRepair(repaired);
  }

  private versionsOf(partition: number): VersionEntry[] {
    const entries: VersionEntry[] = [];
    for (const r of this.store.scanPartition(partition)) {
      entries.push([r.key, r.version.wallMs, r.version.counter, r.version.node]);
    }
    return entries;
  }
}

function partitionParam(params: unknown): number {
  const partition = (params as { partition?: unknown }).partition;
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
    throw new Error('partition must be a whole number');
  }
  return partition;
}
