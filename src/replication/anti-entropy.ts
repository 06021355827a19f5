// Anti-entropy and rebalancing: on a timer, this node visits one partition at a time.
//
// - A partition it replicates is compared with each other live replica: digests first, and where
//   they differ, the keys whose versions differ are copied both ways. This heals what a write
//   missed (a replica that was down or partitioned) and fills a member that joined or restarted
//   empty. When every replica is alive and nothing was left to exchange, tombstones past the
//   grace period are purged, provided every member is alive and none but the replicas holds
//   anything of the partition (see tombstone-policy.ts).
// - A partition it holds but no longer replicates (a member joined and took it over) is pushed to
//   its owners; once every owner is alive and holds each record at the same or a newer version,
//   those records are removed here — a former owner drops data only after the new owners have it.
//
// One partition per step, so a full pass over 256 partitions takes ~10 s and never crowds out
// client traffic. On SIGTERM, `handOff` pushes every partition this node holds to the owners that
// replace it, before the node exits.

import { peerAddr, type ClusterView, type MemberView } from '../cluster/cluster-view.js';
import { EMPTY_DIGEST } from '../store/partition-digests.js';
import type { StoredRecord } from '../store/record.js';
import type { Store } from '../store/store.js';
import { compareVersions, type Version } from '../store/version.js';
import {
  layoutMembers,
  ownersByPartition,
  type PartitionLayout,
  type Partitioner,
} from './partitioner.js';
import { BackgroundLoop } from '../background-loop.js';
import { STREAM_FRAME_BYTES_MAX } from '../cluster/wire/limits.js';
import { PeerBatcher } from './peer-batcher.js';
import { messageOf, type PeerCaller } from './peer-rpc.js';
import { servesSamePartitions, sharesPartitioning } from './settings-agreement.js';
import type { TombstonePolicy } from './tombstone-policy.js';
import { fromWire, toWire, type WireRecord } from './wire-record.js';

/** Time between two partition visits: 256 partitions are all visited every ~10 s. */
export const PARTITION_STEP_MS = 40;
/** Records moved per partition per visit and peer, at most; the rest follow on the next visit. */
export const REPAIR_RECORDS_PER_STEP_MAX = 500;
/**
 * Bytes of records (values and keys) pushed per comparison, at most (one record at least). They
 * are held in memory until sent: 500 values of 1 MiB took the heap past 500 MiB, against a pod
 * limit of 512 MiB. The rest follow on the next pass.
 */
export const REPAIR_SEND_BYTES_MAX = 16 * 1024 * 1024;
/**
 * A layout must have held this long before this node drops a partition it no longer owns: a node
 * that just started, or a membership change still spreading, can give a passing layout in which
 * this node owns less than it does.
 */
export const LAYOUT_SETTLE_MS = 10_000;
/**
 * Keys and versions per `versions` reply, at most (~1.5 MB with short keys): a partition of any
 * size is compared page by page, inside the peer frame limit.
 */
export const VERSIONS_PAGE_MAX = 20_000;
/**
 * Bytes of keys and values per `versions` or `fetch` reply, at most, half a peer frame: 20,000
 * keys of 1 KiB, or a few values of 1 MiB, would not fit one, and the reply would be refused on
 * every visit. A page cut short by bytes goes on with the next page; records not fetched are
 * fetched on a later visit.
 */
const REPLY_PAYLOAD_BYTES_MAX = STREAM_FRAME_BYTES_MAX / 2;
/** What a versions entry costs beyond its key's bytes (the version, msgpack framing). */
const VERSION_ENTRY_OVERHEAD_BYTES = 32;
/**
 * A partition found equal with a peer is compared with it again only once this node's digest of
 * it has changed, or after this long. Equal digests at rest are the common case, and each
 * comparison is a round trip: at one partition per 40 ms it was most of an idle node's CPU time.
 * A change on the peer's side alone is the peer's to notice: its own visit finds its digest
 * changed and compares with this node, both ways.
 */
const EQUAL_RECHECK_MS = 60_000;
/** Tombstones purged per partition visit, at most. */
const PURGE_RECORDS_PER_STEP_MAX = 1_000;
const RPC_TIMEOUT_MS = 5_000;

type VersionEntry = [key: string, wallMs: number, counter: number, node: string];
/** A page of a partition's versions, in key order; `more` when the partition goes on. */
interface VersionPage {
  entries: VersionEntry[];
  more: boolean;
}

export interface AntiEntropyObserver {
  /** Records copied between replicas whose digests differed. */
  repaired(records: number): void;
  /** Records pushed to new owners, and records removed here once they held them. */
  handedOff(records: number): void;
  droppedAfterHandOff(records: number): void;
  tombstonesPurged(records: number): void;
}

/** What one comparison with a peer found and did. */
interface Exchange {
  /** Records copied either way (purgeable tombstones a side lacks do not count). */
  copied: number;
  /** Records of ours the peer holds at the same or a newer version (or may forget). */
  heldByPeer: Map<string, Version>;
  /** This node's digest when the peer's was found equal to it; absent when they differed. */
  equalAt?: string;
  /** Stopped at a bound on what one comparison moves: more may differ. */
  cutShort: boolean;
}

export class AntiEntropy {
  /** The partition to visit next, or the first one after it that this node holds. */
  private cursor = 0;
  private loop: BackgroundLoop | undefined;
  private layoutSeen: { layout: PartitionLayout; sinceMs: number } | undefined;
  /**
   * The layout and what a step needs from it, recomputed only when membership changed: a step
   * runs 25 times a second, and working these out each time was a third of an idle node's CPU.
   */
  private view:
    | {
        generation: number;
        layout: PartitionLayout;
        mine: readonly number[];
        owned: ReadonlySet<number>;
        owners: readonly MemberView[][];
      }
    | undefined;
  /** Per partition and peer: this node's digest when the two were last found equal, and when. */
  private readonly foundEqual = new Map<string, { digest: string; atMs: number }>();
  /** When each partition was last looked over for tombstones to purge (all of it, to the end). */
  private readonly purgeScannedAtMs = new Map<number, number>();
  /** Records pushed to a peer leave in batches, as a coordinator's writes do. */
  private readonly applies: PeerBatcher;

  constructor(
    private readonly store: Store,
    private readonly cluster: ClusterView,
    private readonly partitioner: Partitioner,
    private readonly rpc: PeerCaller,
    private readonly tombstones: TombstonePolicy,
    private readonly observer: AntiEntropyObserver,
    private readonly settleMs = LAYOUT_SETTLE_MS,
    private readonly versionsPageMax = VERSIONS_PAGE_MAX,
    private readonly replyPayloadBytesMax = REPLY_PAYLOAD_BYTES_MAX,
  ) {
    this.applies = new PeerBatcher(rpc, 'applyBatch', RPC_TIMEOUT_MS);
  }

  /**
   * Visits a partition every PARTITION_STEP_MS, except while `paused` says so; a visit that fails
   * goes to `onError`.
   */
  start(onError: (err: unknown) => void, paused: () => boolean = () => false): void {
    this.loop ??= new BackgroundLoop(
      PARTITION_STEP_MS,
      () => (paused() ? Promise.resolve(0) : this.step()),
      onError,
    );
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /** The RPC methods a replica answers for its peers' comparisons. */
  handlers(): Record<string, (params: unknown) => Promise<unknown>> {
    return {
      digest: (params) =>
        Promise.resolve(this.store.partitionSummary(partitionParam(params)).digest),
      versions: (params) => {
        const after = (params as { after?: unknown }).after;
        return Promise.resolve(
          this.versionsOf(partitionParam(params), typeof after === 'string' ? after : undefined),
        );
      },
      fetch: (params) => {
        const keys = (params as { keys?: unknown }).keys;
        if (!Array.isArray(keys)) return Promise.reject(new Error('keys must be a list'));
        const records: WireRecord[] = [];
        let bytes = 0;
        for (const key of keys.slice(0, REPAIR_RECORDS_PER_STEP_MAX)) {
          const record = this.store.get(String(key));
          if (record === undefined) continue;
          // At least one record, however large (a value is smaller than a frame).
          bytes += record.value.length + record.key.length;
          if (records.length > 0 && bytes > this.replyPayloadBytesMax) break;
          records.push(toWire(record));
        }
        return Promise.resolve(records);
      },
    };
  }

  /**
   * Pushes every partition this node holds to the owners it has without this node, until they
   * hold it all or the deadline passes; the caller then exits. Complete when every partition went
   * to every one of its owners: then nothing here is needed any more.
   */
  async handOff(deadlineMs: number): Promise<{ pushed: number; complete: boolean }> {
    const members = this.cluster.members();
    const layout = this.partitioner.layout(
      layoutMembers(members).filter((name) => name !== this.cluster.selfName),
    );
    let pushed = 0;
    let complete = true;
    let failed = 0;
    let firstFailure: unknown;
    try {
      const ownersOf = ownersByPartition(layout, members);
      handOff: for (const partition of this.store.heldPartitions()) {
        const owners = ownersOf[partition] ?? [];
        if (owners.length === 0) complete = false;
        for (const owner of owners) {
          if (!this.usable(owner)) {
            complete = false;
            continue;
          }
          // One owner that fails must not keep the others from getting their partitions.
          try {
            for (;;) {
              // Out of time: what failed so far is still reported.
              if (Date.now() > deadlineMs) {
                complete = false;
                break handOff;
              }
              const { copied, cutShort } = await this.exchange(partition, owner, 'push');
              pushed += copied;
              if (!cutShort) break;
            }
          } catch (err) {
            failed++;
            firstFailure ??= err;
          }
        }
      }
      if (failed > 0) {
        throw new Error(
          `${failed} partition hand-offs failed, the first: ${messageOf(firstFailure)}`,
        );
      }
      return { pushed, complete };
    } finally {
      if (pushed > 0) this.observer.handedOff(pushed);
    }
  }

  /** Whether a member can be compared with now (see servesSamePartitions). */
  private usable(member: MemberView): boolean {
    return servesSamePartitions(member, this.partitioner.partitions);
  }

  /** Visits the next partition this node replicates or still holds; returns how many there are. */
  async step(): Promise<number> {
    if (!this.store.isOpen) return 0;
    const { layout, mine, owned, owners } = this.currentView();
    const settled = this.settled(layout);
    const formerlyMine = this.store.heldPartitions().filter((partition) => !owned.has(partition));
    // `mine` is in ascending order already.
    const visits =
      formerlyMine.length === 0 ? mine : [...mine, ...formerlyMine].sort((a, b) => a - b);
    if (visits.length === 0) return 0;
    // Walk by partition number, not by position: the list shrinks as partitions are dropped and
    // grows as they arrive, and a position would then skip some partitions for many steps.
    const partition = visits.find((p) => p >= this.cursor) ?? (visits[0] as number);
    this.cursor = partition + 1;
    const replicas = owners[partition] ?? [];
    if (owned.has(partition)) await this.sync(partition, replicas);
    else if (settled) await this.handOver(partition, replicas);
    return visits.length;
  }

  private currentView(): NonNullable<AntiEntropy['view']> {
    const generation = this.cluster.generation;
    if (this.view?.generation === generation) return this.view;
    const members = this.cluster.members();
    const layout = this.partitioner.layout(layoutMembers(members));
    const mine = layout.partitionsOf(this.cluster.selfName);
    const owners = ownersByPartition(layout, members);
    this.view = { generation, layout, mine, owned: new Set(mine), owners };
    return this.view;
  }

  /** Has this layout held for LAYOUT_SETTLE_MS? */
  private settled(layout: PartitionLayout): boolean {
    const now = Date.now();
    if (this.layoutSeen?.layout !== layout) this.layoutSeen = { layout, sinceMs: now };
    return now - this.layoutSeen.sinceMs >= this.settleMs;
  }

  /** Brings a partition this node replicates in line with its other replicas. */
  private async sync(partition: number, replicas: MemberView[]): Promise<void> {
    let everyoneInSync = true;
    let repaired = 0;
    let failure: unknown;
    for (const peer of replicas) {
      if (peer.name === this.cluster.selfName) continue;
      if (!this.usable(peer)) {
        everyoneInSync = false;
        continue;
      }
      const pair = `${partition}/${peer.name}`;
      const equal = this.foundEqual.get(pair);
      if (
        equal !== undefined &&
        equal.digest === this.store.partitionSummary(partition).digest &&
        Date.now() - equal.atMs < EQUAL_RECHECK_MS
      ) {
        continue;
      }
      // A peer that fails must not keep this partition from the replicas after it.
      let result: Exchange;
      try {
        result = await this.exchange(partition, peer, 'both');
      } catch (err) {
        failure ??= err;
        everyoneInSync = false;
        continue;
      }
      const { copied, equalAt } = result;
      if (equalAt === undefined) this.foundEqual.delete(pair);
      else this.foundEqual.set(pair, { digest: equalAt, atMs: Date.now() });
      repaired += copied;
      if (copied > 0) everyoneInSync = false;
    }
    if (repaired > 0) this.observer.repaired(repaired);
    if (failure !== undefined) throw failure;
    if (everyoneInSync) await this.purgeTombstones(partition, replicas);
  }

  /** Pushes a partition this node no longer replicates to its owners; drops what they hold. */
  private async handOver(partition: number, owners: MemberView[]): Promise<void> {
    if (owners.length === 0 || !owners.every((owner) => this.usable(owner))) return;
    let pushed = 0;
    let heldByAll: Map<string, Version> | undefined;
    for (const owner of owners) {
      const { copied, heldByPeer } = await this.exchange(partition, owner, 'push');
      pushed += copied;
      heldByAll =
        heldByAll === undefined
          ? heldByPeer
          : new Map([...heldByAll].filter(([key]) => heldByPeer.has(key)));
    }
    if (pushed > 0) this.observer.handedOff(pushed);
    const held = [...(heldByAll ?? new Map<string, Version>())].map(([key, version]) => ({
      key,
      version,
    }));
    const dropped = held.length === 0 ? 0 : await this.store.removeExact(held);
    if (dropped > 0) this.observer.droppedAfterHandOff(dropped);
  }

  /**
   * Compares one partition with one peer and copies what differs: to the peer only ('push'), or
   * both ways ('both'). Equal digests end it at once.
   */
  private async exchange(
    partition: number,
    peer: MemberView,
    direction: 'push' | 'both',
  ): Promise<Exchange> {
    const to = peerAddr(peer);
    const heldByPeer = new Map<string, Version>();
    const theirDigest = await this.rpc.call(to, 'digest', { partition }, RPC_TIMEOUT_MS);
    const ourDigest = this.store.partitionSummary(partition).digest;
    if (theirDigest === ourDigest) {
      // Only a push (to an owner that may take over) needs to know what the peer holds.
      if (direction === 'push') {
        for (const record of this.store.scanPartition(partition)) {
          heldByPeer.set(record.key, record.version);
        }
      }
      return { copied: 0, heldByPeer, equalAt: ourDigest, cutShort: false };
    }

    const toSend: StoredRecord[] = [];
    let toSendBytes = 0;
    const toFetch: string[] = [];
    const sendFull = (): boolean =>
      toSend.length >= REPAIR_RECORDS_PER_STEP_MAX || toSendBytes >= REPAIR_SEND_BYTES_MAX;
    const full = (): boolean => sendFull() || toFetch.length >= REPAIR_RECORDS_PER_STEP_MAX;
    // Page by page through the peer's keys; each page is held against this node's records up to
    // the page's last key (all the rest, after the last page).
    let after: string | undefined;
    do {
      const page = (await this.rpc.call(
        to,
        'versions',
        { partition, after },
        RPC_TIMEOUT_MS,
      )) as VersionPage;
      if (!Array.isArray(page.entries)) throw new Error('malformed versions reply');
      const theirs = new Map<string, Version>();
      for (const [key, wallMs, counter, node] of page.entries) {
        theirs.set(key, { wallMs, counter, node });
      }
      const bound = page.more ? page.entries[page.entries.length - 1]?.[0] : undefined;
      for (const record of this.store.scanPartition(partition, after)) {
        if (bound !== undefined && byteCompare(record.key, bound) > 0) break;
        const their = theirs.get(record.key);
        theirs.delete(record.key);
        if (their === undefined && this.tombstones.purgeable(record)) {
          // Nothing there for an old delete to overwrite: the peer may go on without it.
          heldByPeer.set(record.key, record.version);
          continue;
        }
        const order = their === undefined ? 1 : compareVersions(record.version, their);
        if (order <= 0) heldByPeer.set(record.key, record.version);
        if (order > 0 && !sendFull()) {
          toSend.push(record);
          toSendBytes += record.value.length + record.key.length;
        }
        // A push fetches nothing: its newer keys must not fill the batch and end the paging early.
        if (order < 0 && direction === 'both' && toFetch.length < REPAIR_RECORDS_PER_STEP_MAX) {
          toFetch.push(record.key);
        }
      }
      if (direction === 'both') {
        // Keys only the peer holds.
        for (const key of theirs.keys()) {
          if (toFetch.length >= REPAIR_RECORDS_PER_STEP_MAX) break;
          toFetch.push(key);
        }
      }
      after = bound;
    } while (after !== undefined && !full());

    let copied = 0;
    await Promise.all(
      toSend.map(async (record) => {
        await this.applies.call(to, toWire(record), record.value.length);
        copied++;
      }),
    );
    if (direction === 'both' && toFetch.length > 0) {
      const fetched = (await this.rpc.call(
        to,
        'fetch',
        { keys: toFetch },
        RPC_TIMEOUT_MS,
      )) as WireRecord[];
      for (const wire of fetched) {
        const record = fromWire(wire);
        if (this.store.get(record.key) === undefined && this.tombstones.purgeable(record)) continue;
        if (await this.store.apply(record)) copied++;
      }
    }
    return { copied, heldByPeer, cutShort: full() };
  }

  /**
   * Removes the partition's tombstones and expired records past the grace period (every replica is
   * in sync, and the policy allows purges now), looking the partition over at most once per its
   * scan interval.
   */
  private async purgeTombstones(partition: number, replicas: MemberView[]): Promise<void> {
    if (!this.purgeScanDue(partition) || !this.tombstones.purgesAllowed()) return;
    const scannedAtMs = this.tombstones.nowMs();
    const due: StoredRecord[] = [];
    for (const record of this.store.scanPartition(partition)) {
      if (this.tombstones.purgeable(record)) due.push(record);
      if (due.length >= PURGE_RECORDS_PER_STEP_MAX) break;
    }
    // A full batch may have left more behind: the next visit looks again.
    if (due.length < PURGE_RECORDS_PER_STEP_MAX) this.purgeScannedAtMs.set(partition, scannedAtMs);
    if (due.length === 0) return;
    if (!(await this.othersHoldNothing(partition, replicas))) {
      // Looked at again on a later visit, once the hand-over is done.
      this.purgeScannedAtMs.delete(partition);
      return;
    }
    const purged = await this.store.removeExact(due);
    if (purged > 0) this.observer.tombstonesPurged(purged);
  }

  /**
   * Whether every member other than the partition's replicas holds nothing of it. A former owner
   * that has not handed all of it over (it was away, or the layout changed lately) may hold a
   * value one of the tombstones deleted: purged first, the tombstone could no longer stop it.
   * A member that files keys under another partition count holds nothing comparable.
   */
  private async othersHoldNothing(partition: number, replicas: MemberView[]): Promise<boolean> {
    const replicaNames = new Set(replicas.map((m) => m.name));
    for (const member of this.cluster.members()) {
      if (member.state === 'left' || replicaNames.has(member.name)) continue;
      if (!sharesPartitioning(member, this.partitioner.partitions)) continue;
      if (member.state !== 'alive') return false;
      const digest = await this.rpc.call(peerAddr(member), 'digest', { partition }, RPC_TIMEOUT_MS);
      if (digest !== EMPTY_DIGEST) return false;
    }
    return true;
  }

  /** Has the partition not been looked over for tombstones within the policy's interval? */
  private purgeScanDue(partition: number): boolean {
    const last = this.purgeScannedAtMs.get(partition);
    return (
      last === undefined || this.tombstones.nowMs() - last >= this.tombstones.purgeScanIntervalMs
    );
  }

  /** One page of the partition's keys and versions, after `after`; `more` when it was cut. */
  private versionsOf(partition: number, after: string | undefined): VersionPage {
    const entries: VersionEntry[] = [];
    let bytes = 0;
    for (const r of this.store.scanPartition(partition, after)) {
      if (entries.length >= this.versionsPageMax || bytes >= this.replyPayloadBytesMax) {
        return { entries, more: true };
      }
      entries.push([r.key, r.version.wallMs, r.version.counter, r.version.node]);
      bytes += Buffer.byteLength(r.key) + r.version.node.length + VERSION_ENTRY_OVERHEAD_BYTES;
    }
    return { entries, more: false };
  }
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function partitionParam(params: unknown): number {
  const partition = (params as { partition?: unknown }).partition;
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) {
    throw new Error('partition must be a whole number');
  }
  return partition;
}
