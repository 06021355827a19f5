// The coordinator: any node serves any request for the whole cluster. A key lives on the N
// replicas the partitioner names for its partition; a write goes to all of them and is answered
// after W acknowledgements, a read asks them and answers with the newest version after R replies
// (`one` = 1, `quorum` = floor(N/2)+1, `all` = N). Only the key's replicas count (Cassandra's
// rule): when too few answer, the client gets QUORUM_UNAVAILABLE with the needed and reached
// counts, never a partial success reported as success. Stale replicas seen by a read are sent
// the newest version in the background (read repair).
//
// N is capped by the members in the layout, so a cluster smaller than the replication factor
// (a single node in development) still serves with every replica it has.
//
// A membership change moves partitions at once, but their data follows only as anti-entropy and
// former owners' hand-over copy it, so new owners can be empty for a while. A read therefore also
// asks the members that may still hold the key's partition without owning it (Cassandra reads
// and writes pending ranges for the same reason): after the layout of a partition changes, every
// other member, until it answers that it holds nothing of that partition. A former owner drops
// records only once every new owner holds them, so a write acknowledged before the change is
// found either on a former owner or on the owners. Such a member gets FORMER_READ_TIMEOUT_MS to
// answer; one that does not (paused, overloaded) is skipped for a while, as a down replica is.
// A member that left lately is asked too (recent-departures.ts): it hands what it holds to the
// owners that replace it only after its leave has spread, and answers reads of it until it exits.

import type { Consistency } from '../config.js';
import { ShoalError } from '../errors.js';
import { peerAddr, type ClusterView, type MemberView } from '../cluster/cluster-view.js';
import type {
  KvService,
  ListRequest,
  ListResult,
  PutRequest,
  ReadResult,
} from '../kv/kv-service.js';
import { HybridLogicalClock } from '../store/hlc.js';
import { encodeKey } from '../store/key-layout.js';
import { partitionOf } from '../store/partition.js';
import { isLive, type StoredRecord } from '../store/record.js';
import type { Store } from '../store/store.js';
import { compareVersions, type Version } from '../store/version.js';
import { layoutMembers, ownersByPartition, type Partitioner } from './partitioner.js';
import { servesSamePartitions, sharesPartitioning } from './settings-agreement.js';
import { batchItems, PeerBatcher } from './peer-batcher.js';
import { isPeerRpcError, type PeerCaller } from './peer-rpc.js';
import type { RecentDepartures } from './recent-departures.js';
import type { TombstonePolicy } from './tombstone-policy.js';
import { fromWire, toWire, type WireRecord } from './wire-record.js';

/** Records examined per list page at most, so a page over many tombstones stays cheap. */
export const LIST_SCAN_RECORDS_MAX = 10_000;

/** A replica's answer to one request must come within this, or it counts as not answering. */
export const REPLICA_TIMEOUT_MS = 2_000;
/** A read still short of R replies after this asks one more replica (and again after as long). */
export const SPECULATIVE_READ_MS = 50;
/**
 * A member that may hold a partition without owning it must answer a read within this. One that
 * does not is not asked for FORMER_COOL_DOWN_MS: a paused member must not hold up every read of
 * the partitions it once had until membership finds it suspect.
 */
export const FORMER_READ_TIMEOUT_MS = 250;
export const FORMER_COOL_DOWN_MS = 5_000;

export type ReplicationOp = 'put' | 'get' | 'delete' | 'list';
export type ReplicationOutcome = 'ok' | 'unavailable';

/** Where a write a replica missed is kept for later delivery (see hint-store.ts). */
export interface HintSink {
  add(target: string, record: StoredRecord, nowMs: number): Promise<boolean>;
}

export interface ReplicationObserver {
  request(op: ReplicationOp, consistency: Consistency, outcome: ReplicationOutcome): void;
  readRepair(): void;
}

/** Replicas needed for a consistency level out of n. */
export function required(consistency: Consistency, n: number): number {
  if (consistency === 'one') return Math.min(1, n);
  if (consistency === 'all') return n;
  return Math.floor(n / 2) + 1;
}

export interface CoordinatorParts {
  store: Store;
  clock: HybridLogicalClock;
  cluster: ClusterView;
  partitioner: Partitioner;
  rpc: PeerCaller;
  observer: ReplicationObserver;
  hints: HintSink;
  tombstones: TombstonePolicy;
  /** Members that left lately, still asked as possible holders of what they had. */
  departures: RecentDepartures;
  wallClock?: () => number;
}

/** Per partition: its owners, and the other members that may still hold it. */
interface PlacementView {
  generation: number;
  owners: MemberView[][];
  /**
   * Names of members to ask besides the owners, emptied as they answer they hold nothing.
   * Undefined until a read of the partition needs it: every member but the owners.
   */
  formers: (Set<string> | undefined)[];
  /** Members that may hold partitions they do not own: those in the layout, and those that left. */
  holders: readonly string[];
  byName: ReadonlyMap<string, MemberView>;
}

export class Coordinator implements KvService {
  private placement: PlacementView | undefined;
  /** When this node first saw each member it holds dead, while it does. */
  private readonly deadSinceMs = new Map<string, number>();
  /** Members that did not answer a read as a former owner, until when they are not asked. */
  private readonly formerCoolDownUntilMs = new Map<string, number>();

  private readonly store: Store;
  private readonly clock: HybridLogicalClock;
  private readonly cluster: ClusterView;
  private readonly partitioner: Partitioner;
  private readonly rpc: PeerCaller;
  private readonly observer: ReplicationObserver;
  private readonly hints: HintSink;
  private readonly tombstones: TombstonePolicy;
  private readonly departures: RecentDepartures;
  private readonly wallClock: () => number;
  private readonly applies: PeerBatcher;
  private readonly reads: PeerBatcher;
  private readonly formerReads: PeerBatcher;

  constructor(parts: CoordinatorParts) {
    this.store = parts.store;
    this.clock = parts.clock;
    this.cluster = parts.cluster;
    this.partitioner = parts.partitioner;
    this.rpc = parts.rpc;
    this.observer = parts.observer;
    this.hints = parts.hints;
    this.tombstones = parts.tombstones;
    this.departures = parts.departures;
    this.wallClock = parts.wallClock ?? Date.now;
    this.applies = new PeerBatcher(this.rpc, 'applyBatch', REPLICA_TIMEOUT_MS);
    this.reads = new PeerBatcher(this.rpc, 'getBatch', REPLICA_TIMEOUT_MS);
    this.formerReads = new PeerBatcher(this.rpc, 'getHeldBatch', FORMER_READ_TIMEOUT_MS);
  }

  async get(key: string, consistency: Consistency): Promise<ReadResult | undefined> {
    const newest = await this.read(key, consistency, 'get');
    if (!isLive(newest, this.wallClock())) return undefined;
    return { value: newest.value, contentType: newest.contentType, version: newest.version };
  }

  async put(request: PutRequest): Promise<Version> {
    const record: StoredRecord = {
      key: request.key,
      value: request.value,
      contentType: request.contentType,
      version: this.nextVersion(request.key),
      tombstone: false,
      expiresAtMs: request.ttlMs === undefined ? 0 : this.wallClock() + request.ttlMs,
    };
    return this.write(record, request.consistency, 'put');
  }

  async delete(key: string, consistency: Consistency): Promise<Version | undefined> {
    const current = await this.read(key, consistency, 'delete');
    if (!isLive(current, this.wallClock())) return undefined;
    const record: StoredRecord = {
      key,
      value: Buffer.alloc(0),
      contentType: '',
      version: this.nextVersion(key, current.version),
      tombstone: true,
      expiresAtMs: 0,
    };
    return this.write(record, consistency, 'delete');
  }

  /** Every live member's page, merged: a key is listed if any replica holds it live. */
  async list(request: ListRequest): Promise<ListResult> {
    const peers = this.cluster
      .members()
      .filter((m) => m.state === 'alive' && m.name !== this.cluster.selfName);
    const pages = await Promise.all([
      Promise.resolve(this.localList(request)),
      ...peers.map((m) =>
        this.rpc
          .call(peerAddr(m), 'list', request, REPLICA_TIMEOUT_MS)
          .then((page) => page as ListResult)
          .catch(() => undefined),
      ),
    ]);
    // Each page stopped at its own limit or scan bound; the merged page may only go as far as
    // the shortest unfinished page reached, or keys beyond it could be skipped.
    let bound: string | undefined;
    for (const page of pages) {
      if (
        page?.resumeAfter !== undefined &&
        (bound === undefined || byteCompare(page.resumeAfter, bound) < 0)
      ) {
        bound = page.resumeAfter;
      }
    }
    const keys = new Set<string>();
    for (const page of pages) for (const key of page?.keys ?? []) keys.add(key);
    let merged = [...keys].sort(byteCompare);
    if (bound !== undefined) merged = merged.filter((key) => byteCompare(key, bound) <= 0);
    const truncated = merged.length > request.limit;
    merged = merged.slice(0, request.limit);
    return { keys: merged, resumeAfter: truncated ? merged[merged.length - 1] : bound };
  }

  /** The RPC methods replicas answer for coordinators. */
  handlers(): Record<string, (params: unknown) => Promise<unknown>> {
    return {
      // Batches from PeerBatcher: checked whole before any item is acted on; the writes are
      // applied in one turn, so in one commit.
      applyBatch: (params) => {
        const records = batchItems(params).map((wire) => fromWire(wire as WireRecord));
        return Promise.all(records.map((record) => this.applyHere(record)));
      },
      getBatch: (params) =>
        Promise.resolve(
          readReply(batchItems(params), (key) => {
            const record = this.store.get(key);
            return record === undefined ? null : toWire(record);
          }),
        ),
      // Reads of a member that may hold partitions it no longer owns: NOTHING_HELD for a key
      // whose partition it holds nothing of, so the coordinator stops asking it.
      getHeldBatch: (params) =>
        Promise.resolve(
          readReply(batchItems(params), (key) => {
            const held = this.heldRecord(key);
            return held === undefined ? null : held === NOTHING_HELD ? held : toWire(held);
          }),
        ),
      list: (params) => Promise.resolve(this.localList(params as ListRequest)),
    };
  }

  /** The key's record here; NOTHING_HELD when this node holds nothing of its partition. */
  private heldRecord(key: string): StoredRecord | undefined | typeof NOTHING_HELD {
    const record = this.store.peek(key);
    if (record !== undefined) return record;
    return this.store.partitionSummary(this.partitionOfKey(key)).keys > 0
      ? undefined
      : NOTHING_HELD;
  }

  private localList(request: ListRequest): ListResult {
    return this.store.list({
      prefix: String(request.prefix),
      after:
        request.after === undefined || request.after === null ? undefined : String(request.after),
      limit: Math.max(1, Math.min(1_000, Number(request.limit) || 1)),
      nowMs: this.wallClock(),
      scanMax: LIST_SCAN_RECORDS_MAX,
    });
  }

  private replicasOf(key: string): MemberView[] {
    return this.ownersOf(this.partitionOfKey(key));
  }

  private ownersOf(partition: number): MemberView[] {
    return this.placementView().owners[partition] ?? [];
  }

  private partitionOfKey(key: string): number {
    return partitionOf(encodeKey(key), this.partitioner.partitions);
  }

  /**
   * Recomputed only when membership changed: the hot path is one hash and one array lookup. A
   * partition whose owners changed (or any, the first time) may be held by any other member; one
   * whose owners stayed keeps those not yet ruled out. Worked out per partition only when read.
   */
  private placementView(): PlacementView {
    const generation = this.cluster.generation;
    if (this.placement?.generation === generation) return this.placement;
    const members = this.cluster.members();
    const previous = this.placement;
    trackDeadSince(this.deadSinceMs, members, this.wallClock());
    const inLayout = layoutMembers(members);
    const layout = this.partitioner.layout(inLayout);
    const owners = ownersByPartition(layout, members);
    const formers = owners.map((now, p) => {
      const before = previous?.owners[p];
      const moved =
        before === undefined ||
        before.length !== now.length ||
        before.some((m, i) => m.name !== now[i]?.name);
      return moved ? undefined : previous?.formers[p];
    });
    const byName = new Map(members.map((m) => [m.name, m]));
    const holders = [...inLayout, ...this.departures.names()];
    this.placement = { generation, owners, formers, holders, byName };
    return this.placement;
  }

  /**
   * A member dead for longer than the hint window gets no more hints (Cassandra's rule): hints
   * it could take would be dropped as too old on its return, and meanwhile they would fill the
   * hint store that every other member's missed writes share. Anti-entropy repairs it instead.
   */
  private worthAHint(member: MemberView): boolean {
    const since = member.state === 'dead' ? this.deadSinceMs.get(member.name) : undefined;
    return since === undefined || this.wallClock() - since <= this.tombstones.hintWindowMs;
  }

  /** A version newer than any this node has stored or seen for the key. */
  private nextVersion(key: string, seen?: Version): Version {
    const local = this.store.peek(key)?.version;
    const floor =
      local === undefined || (seen !== undefined && compareVersions(seen, local) > 0)
        ? seen
        : local;
    return this.clock.nowAfter(floor);
  }

  /**
   * Applies a record here. Answers true, or, when this store holds the key at a newer version,
   * that version: the writer's clock was behind, and it may write again above it.
   */
  private async applyHere(record: StoredRecord): Promise<true | VersionTuple> {
    if (await this.store.apply(record)) return true;
    const held = this.store.peek(record.key)?.version;
    return held === undefined || compareVersions(held, record.version) <= 0
      ? true
      : [held.wallMs, held.counter, held.node];
  }

  /** Applies the write at one replica; resolves with a newer version it holds, if any. */
  private async applyAt(member: MemberView, record: StoredRecord): Promise<Version | undefined> {
    const answer =
      member.name === this.cluster.selfName
        ? await this.applyHere(record)
        : await this.applies.call(peerAddr(member), toWire(record), record.value.length);
    return versionOfRefusal(answer);
  }

  /**
   * Applies the write at one replica; when it cannot take it, keeps a hint for it. A replica
   * the cluster holds dead is not tried (its hint is kept at once, the write does not wait).
   */
  private replicate(member: MemberView, record: StoredRecord): Promise<Version | undefined> {
    const remote = member.name !== this.cluster.selfName;
    const attempt =
      remote && member.state === 'dead'
        ? Promise.reject(new Error(`${member.name} is dead`))
        : this.applyAt(member, record);
    return attempt.catch((err: unknown) => {
      if (remote && this.worthAHint(member)) {
        void this.hints.add(member.name, record, this.wallClock()).catch(() => false);
      }
      throw err;
    });
  }

  private async readAt(member: MemberView, key: string): Promise<StoredRecord | undefined> {
    if (member.name === this.cluster.selfName) return this.store.get(key);
    // The cluster holds it dead: asking would only wait for a timeout.
    if (member.state === 'dead') throw new Error(`${member.name} is dead`);
    const reply = await this.reads.call(peerAddr(member), key, key.length);
    return reply === null ? undefined : fromWire(reply as WireRecord);
  }

  /**
   * Writes the record at W replicas and answers the version written. When a replica that
   * answered holds the key at a newer version, this node's clock is behind the last writer's (a
   * coordinator that is not a replica has never seen the key): the write would be acknowledged
   * and then lose to the older value everywhere. It is written once more, above that version.
   */
  private async write(
    record: StoredRecord,
    consistency: Consistency,
    op: ReplicationOp,
  ): Promise<Version> {
    const newer = await this.writeOnce(record, consistency, op);
    if (newer === undefined) {
      this.observer.request(op, consistency, 'ok');
      return record.version;
    }
    // Once only: a replica that refuses this round too holds a concurrent write.
    const again = { ...record, version: this.clock.nowAfter(newer) };
    await this.writeOnce(again, consistency, op);
    this.observer.request(op, consistency, 'ok');
    return again.version;
  }

  /** One round of a write; resolves with the newest version a replica refused it for, if any. */
  private writeOnce(
    record: StoredRecord,
    consistency: Consistency,
    op: ReplicationOp,
  ): Promise<Version | undefined> {
    const replicas = this.replicasOf(record.key);
    const needed = required(consistency, replicas.length);
    return new Promise((resolve, reject) => {
      let acked = 0;
      let failed = 0;
      let settled = false;
      let newer: Version | undefined;
      const settle = (): void => {
        if (settled) return;
        if (acked >= needed) {
          settled = true;
          resolve(newer);
        } else if (acked + failed === replicas.length) {
          // Decided once every replica has answered or timed out, so `reached` is the final count.
          settled = true;
          this.observer.request(op, consistency, 'unavailable');
          reject(unavailable(needed, acked, replicas.length));
        }
      };
      if (replicas.length === 0) {
        // No member may hold the key (every one has left, this node included while it drains).
        this.observer.request(op, consistency, 'unavailable');
        reject(unavailable(Math.max(needed, 1), 0, 0));
        return;
      }
      for (const member of replicas) {
        this.replicate(member, record).then(
          (refusedFor) => {
            if (
              refusedFor !== undefined &&
              (newer === undefined || compareVersions(refusedFor, newer) > 0)
            ) {
              newer = refusedFor;
            }
            acked++;
            settle();
          },
          () => {
            failed++;
            settle();
          },
        );
      }
    });
  }

  /**
   * Asks R replicas — this node first when it is one (no network), then live ones in preference
   * order — and answers with the newest version once R have replied. Another replica is asked when
   * one fails, or when R replies have not come within SPECULATIVE_READ_MS (Cassandra's speculative
   * retry), so a slow or paused replica costs a few milliseconds, not a timeout. Asking only R
   * (not all N) saves a round trip per read at quorum; the replicas not asked are kept in line by
   * hints and anti-entropy, and the ones asked by read repair.
   */
  private read(
    key: string,
    consistency: Consistency,
    op: ReplicationOp,
  ): Promise<StoredRecord | undefined> {
    const partition = this.partitionOfKey(key);
    const replicas = this.readOrder(this.ownersOf(partition));
    const needed = required(consistency, replicas.length);
    return new Promise((resolve, reject) => {
      if (replicas.length === 0) {
        this.observer.request(op, consistency, 'unavailable');
        reject(unavailable(Math.max(needed, 1), 0, 0));
        return;
      }
      const replies: { member: MemberView; record: StoredRecord | undefined }[] = [];
      /** Records found on members that may hold the partition without owning it. */
      const held: StoredRecord[] = [];
      let formersPending = 0;
      let asked = 0;
      let failed = 0;
      let settled = false;
      let repaired = false;
      let speculation: NodeJS.Timeout | undefined;
      const askNext = (): void => {
        const member = replicas[asked];
        if (member === undefined) return;
        asked++;
        this.readAt(member, key).then(
          (record) => {
            replies.push({ member, record });
            settle();
          },
          () => {
            failed++;
            askNext();
            settle();
          },
        );
      };
      const speculate = (): void => {
        speculation = setTimeout(() => {
          if (settled || asked >= replicas.length) return;
          askNext();
          speculate();
        }, SPECULATIVE_READ_MS);
      };
      const settle = (): void => {
        const done = replies.length + failed === asked;
        if (!settled && replies.length >= needed && formersPending === 0) {
          settled = true;
          clearTimeout(speculation);
          this.observer.request(op, consistency, 'ok');
          resolve(newest([...replies.map((reply) => reply.record), ...held]));
        } else if (!settled && done && asked === replicas.length && replies.length < needed) {
          // Decided once every replica has been asked and has answered or failed, so `reached`
          // is the final count.
          settled = true;
          clearTimeout(speculation);
          this.observer.request(op, consistency, 'unavailable');
          reject(unavailable(needed, replies.length, replicas.length));
        }
        if (settled && done && formersPending === 0 && !repaired) {
          repaired = true;
          this.repair(replies, held);
        }
      };
      for (const member of this.formersToAsk(partition)) {
        formersPending++;
        this.readHeld(member, key, partition).then(
          (record) => {
            if (record !== undefined) held.push(record);
            formersPending--;
            settle();
          },
          () => {
            formersPending--;
            settle();
          },
        );
      }
      for (let i = 0; i < needed; i++) askNext();
      speculate();
    });
  }

  /**
   * Members that may hold the partition without owning it and can answer now: alive ones, and
   * those that left lately (this node is read locally).
   */
  private formersToAsk(partition: number): MemberView[] {
    const view = this.placementView();
    let formers = view.formers[partition];
    if (formers === undefined) {
      const owners = new Set(this.ownersOf(partition).map((m) => m.name));
      formers = new Set(view.holders.filter((name) => !owners.has(name)));
      view.formers[partition] = formers;
    }
    if (formers.size === 0) return [];
    const now = this.wallClock();
    const out: MemberView[] = [];
    for (const name of formers) {
      const member = view.byName.get(name);
      if (member === undefined) continue;
      if (name === this.cluster.selfName) {
        out.push(member);
        continue;
      }
      const coolDown = this.formerCoolDownUntilMs.get(name);
      if (coolDown !== undefined && coolDown > now) continue;
      const mayAnswer =
        member.state === 'left'
          ? this.departures.has(name) && sharesPartitioning(member, this.partitioner.partitions)
          : servesSamePartitions(member, this.partitioner.partitions);
      if (mayAnswer) out.push(member);
    }
    return out;
  }

  /**
   * The key's record on a member that may hold its partition without owning it. One that holds
   * nothing of the partition is not asked again until the partition's owners change.
   */
  private async readHeld(
    member: MemberView,
    key: string,
    partition: number,
  ): Promise<StoredRecord | undefined> {
    const view = this.placementView();
    const held =
      member.name === this.cluster.selfName
        ? this.heldRecord(key)
        : await this.askHeld(member, key);
    if (held === NOTHING_HELD) {
      // Only in the view the question was asked in: a newer view starts over.
      view.formers[partition]?.delete(member.name);
      return undefined;
    }
    return held;
  }

  /** Another member's answer to getHeldBatch; one that does not answer is left alone a while. */
  private async askHeld(
    member: MemberView,
    key: string,
  ): Promise<StoredRecord | undefined | typeof NOTHING_HELD> {
    let reply: unknown;
    try {
      reply = await this.formerReads.call(peerAddr(member), key, key.length);
    } catch (err) {
      // A member that left and now refuses connections has exited: not asked again. Any other
      // failure (a timeout, a reset) may pass while it is still handing over.
      if (member.state === 'left' && isPeerRpcError(err) && err.refused) {
        this.departures.exited(member.name);
      }
      this.formerCoolDownUntilMs.set(member.name, this.wallClock() + FORMER_COOL_DOWN_MS);
      throw err;
    }
    this.formerCoolDownUntilMs.delete(member.name);
    if (reply === NOTHING_HELD) return NOTHING_HELD;
    return reply === null ? undefined : fromWire(reply as WireRecord);
  }

  /** Replicas in the order reads ask them: this node, then alive, suspect and dead members. */
  private readOrder(replicas: readonly MemberView[]): MemberView[] {
    const rank = (m: MemberView): number =>
      m.name === this.cluster.selfName ? 0 : m.state === 'alive' ? 1 : m.state === 'dead' ? 3 : 2;
    return [...replicas].sort((a, b) => rank(a) - rank(b));
  }

  /**
   * Sends the newest version to every replica that answered with an older one or none. Members
   * that hold the partition without owning it are not written to; what they hold may be newest.
   */
  private repair(
    replies: { member: MemberView; record: StoredRecord | undefined }[],
    held: readonly StoredRecord[],
  ): void {
    const latest = newest([...replies.map((reply) => reply.record), ...held]);
    if (latest === undefined) return;
    for (const { member, record } of replies) {
      if (record !== undefined && compareVersions(record.version, latest.version) === 0) continue;
      // An old delete need not reach a replica that has nothing for it to overwrite.
      if (record === undefined && this.tombstones.purgeable(latest)) continue;
      this.observer.readRepair();
      this.applyAt(member, latest).catch(() => undefined);
    }
  }
}

function unavailable(needed: number, reached: number, replicas: number): ShoalError {
  return new ShoalError(
    'QUORUM_UNAVAILABLE',
    `${reached} of the key's ${replicas} replicas answered; ${needed} needed`,
    {
      needed,
      reached,
    },
  );
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The record with the highest version, if any replica had one. */
function newest(records: readonly (StoredRecord | undefined)[]): StoredRecord | undefined {
  let best: StoredRecord | undefined;
  for (const record of records) {
    if (
      record !== undefined &&
      (best === undefined || compareVersions(record.version, best.version) > 0)
    ) {
      best = record;
    }
  }
  return best;
}

/**
 * Bytes of values and keys a read batch is answered with, about: past them, the keys after are
 * left for the coordinator to ask again (PeerBatcher). Reads of large values then come back a few
 * at a time, instead of a reply of hundreds of megabytes encoded only to be refused.
 */
export const READ_REPLY_BYTES_BUDGET = 1024 * 1024;

/** The keys' answers in order, until they hold READ_REPLY_BYTES_BUDGET (one at least). */
function readReply<T extends WireRecord | null | typeof NOTHING_HELD>(
  keys: readonly unknown[],
  read: (key: string) => T,
): T[] {
  const out: T[] = [];
  let bytes = 0;
  for (const item of keys) {
    if (out.length > 0 && bytes >= READ_REPLY_BYTES_BUDGET) break;
    const key = String(item);
    const answer = read(key);
    bytes += key.length + (answer !== null && answer !== NOTHING_HELD ? answer.value.length : 0);
    out.push(answer);
  }
  return out;
}

/** A `getHeldBatch` answer: this member holds nothing of the key's partition. */
export const NOTHING_HELD = 0;

/** A version as a replica sends it back with a refused write. */
type VersionTuple = [wallMs: number, counter: number, node: string];

/** The newer version a replica's apply answer names, if any (true: it took the write). */
function versionOfRefusal(answer: unknown): Version | undefined {
  if (!Array.isArray(answer) || answer.length !== 3) return undefined;
  const [wallMs, counter, node] = answer as unknown[];
  if (!Number.isSafeInteger(wallMs) || !Number.isSafeInteger(counter) || typeof node !== 'string') {
    return undefined;
  }
  return { wallMs: wallMs as number, counter: counter as number, node };
}

/** Keeps when each dead member was first seen dead; forgets those no longer dead. */
function trackDeadSince(
  since: Map<string, number>,
  members: readonly MemberView[],
  nowMs: number,
): void {
  const dead = new Set(members.filter((m) => m.state === 'dead').map((m) => m.name));
  for (const name of since.keys()) if (!dead.has(name)) since.delete(name);
  for (const name of dead) if (!since.has(name)) since.set(name, nowMs);
}
