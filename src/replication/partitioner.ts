// Who holds each partition: rendezvous (highest-random-weight) hashing with bounded loads.
// Every member gets a score per partition from a hash of (partition, member name). Pairs are
// taken from the highest score down, a member taking no more than 10% over its fair share; a
// member left more than 10% under it then takes over the partitions where it scores highest.
// A partition's replicas are listed by score (the first is the preferred coordinator). Every node
// computes the same layout from the same member names, with no coordination.
//
// Why bounded: plain rendezvous places each partition independently, so at 256 partitions the
// counts spread like a binomial (N=3: up to 17% off at 10 members, 60% at 50). The price is
// movement on a join: besides the ~1/M of replicas the newcomer takes, some move between old
// members as the bound shifts. At 256 partitions a join from M members moves, as a multiple of
// the ideal (median over each range): 1.04x for M = 3-9, 1.4x for 10-29, 2.0x for 30-59 (with
// spikes to 4.7x where the bound crosses a whole number), 2.8x for 60-100 (spikes to 15.8x),
// where each member holds 13 replicas or fewer and more partitions would spread the load finer.
// Bounding to within one partition of the share instead gave 1.2x, 1.7x, 3.1x and 3.5x.
//
// Which names to pass: every member that has not left. Dead and suspect members keep their place
// (a StatefulSet pod comes back under the same name, and its data with it); a member that left
// gracefully handed its data off and drops out.

import type { MemberView } from '../cluster/cluster-view.js';
import { murmur3 } from '../store/murmur3.js';

/** Seeds of the two 32-bit halves of a rendezvous score. Every node must use the same ones. */
const SCORE_SEED_HIGH = 0x7368_6f61;
const SCORE_SEED_LOW = 0x6c5f_6872;
/** Bytes of the partition number at the start of each hashed (partition, name) input. */
const PARTITION_BYTES = 4;
/** Low half bits kept in a score: 32 + 21 = 53 bits, the integers a double holds exactly. */
const SCORE_LOW_BITS = 21;
/**
 * How far a member's count may be from its fair share. A tighter bound moves more partitions
 * on every join, as the bound shifts and pushes partitions between members that stay.
 */
const BALANCE_TOLERANCE_PERCENT = 10;
/** Candidates per partition beyond n looked at first; most partitions never need more. */
const SHORT_LIST_EXTRA = 3;

export class PartitionLayout {
  private readonly byMember = new Map<string, number[]>();

  constructor(
    /** The members the layout was computed from, sorted by name. */
    readonly members: readonly string[],
    /** Per partition, its replicas in preference order. */
    private readonly replicas: readonly (readonly string[])[],
  ) {
    for (const name of members) this.byMember.set(name, []);
    for (const [partition, names] of replicas.entries()) {
      for (const name of names) this.byMember.get(name)?.push(partition);
    }
  }

  get partitions(): number {
    return this.replicas.length;
  }

  /** The partition's replicas, most preferred first; empty when there are no members. */
  replicasOf(partition: number): readonly string[] {
    const names = this.replicas[partition];
    if (names === undefined) {
      throw new RangeError(`partition ${partition} is not in 0..${this.replicas.length - 1}`);
    }
    return names;
  }

  /** The partitions the member is a replica of (at any rank), in ascending order. */
  partitionsOf(name: string): readonly number[] {
    return this.byMember.get(name) ?? [];
  }
}

export class Partitioner {
  private cached: { key: string; layout: PartitionLayout } | undefined;

  constructor(
    readonly partitions: number,
    readonly replicationFactor: number,
  ) {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0x1_0000) {
      throw new RangeError(`partitions must be a whole number from 1 to 65536, not ${partitions}`);
    }
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      throw new RangeError(
        `replication factor must be a positive whole number, not ${replicationFactor}`,
      );
    }
  }

  /**
   * The layout for these members (order and repeats do not matter). Computed once per distinct
   * member set: membership changes rarely, requests that need the layout come all the time.
   */
  layout(memberNames: readonly string[]): PartitionLayout {
    const members = [...new Set(memberNames)].sort();
    const key = JSON.stringify(members);
    if (this.cached?.key === key) return this.cached.layout;
    const layout = new PartitionLayout(members, this.computeReplicas(members));
    this.cached = { key, layout };
    return layout;
  }

  private computeReplicas(members: readonly string[]): string[][] {
    const n = Math.min(this.replicationFactor, members.length);
    if (n === 0) return Array.from({ length: this.partitions }, () => []);
    const scorer = new RendezvousScorer(members);
    // Whole numbers within 10% of the fair share, always including the two next to it.
    const slots = this.partitions * n;
    const fairFloor = Math.floor(slots / members.length);
    const fairCeiling = Math.ceil(slots / members.length);
    const upper = Math.max(
      fairCeiling,
      Math.floor((slots * (100 + BALANCE_TOLERANCE_PERCENT)) / (100 * members.length)),
    );
    const lower = Math.min(
      fairFloor,
      Math.ceil((slots * (100 - BALANCE_TOLERANCE_PERCENT)) / (100 * members.length)),
    );
    const load = new Array<number>(members.length).fill(0);

    // First pass: (partition, member) pairs from the highest score down; a pair is taken while
    // its partition needs replicas and its member is below the upper bound.
    const replicas = assignByScore(scorer, this.partitions, n, upper, load);
    // The members left with room can be fewer than n at the very end; rank alone decides then.
    for (const [partition, held] of replicas.entries()) {
      if (held.length === n) continue;
      const { members: extra } = bestMembers(
        scorer,
        partition,
        n - held.length,
        (m) => !held.includes(m),
      );
      for (const index of extra) {
        held.push(index);
        load[index] = (load[index] ?? 0) + 1;
      }
      sortByScore(scorer, partition, held);
    }

    const move = (partition: number, from: number, to: number): void => {
      const held = replicas[partition] ?? [];
      held[held.indexOf(from)] = to;
      sortByScore(scorer, partition, held);
      load[to] = (load[to] ?? 0) + 1;
      load[from] = (load[from] ?? 0) - 1;
    };

    // Second pass, for the rare layouts where the first overfilled a member: it gives the
    // partitions where it scores lowest, each to the highest-scoring member with room.
    rebalance(
      scorer,
      replicas,
      load,
      'give',
      (count) => count > upper,
      (count) => count < upper,
      move,
    );
    // Third pass: a member left below the lower bound takes, from members above it, the
    // partitions where it scores highest, until it reaches the bound.
    rebalance(
      scorer,
      replicas,
      load,
      'take',
      (count) => count < lower,
      (count) => count > lower,
      move,
    );
    return replicas.map((held) => held.map((index) => members[index] ?? ''));
  }
}

/**
 * Bounded greedy assignment: every (partition, member) pair in descending score order (ties: the
 * lower partition, then the lower member index), taken while the partition has fewer than n
 * replicas and the member fewer than `upper` partitions. Each partition's candidates come best
 * first from a short list, extended to all members only if the short list runs out; a heap keyed
 * by each partition's next candidate yields the global order without sorting every pair.
 */
function assignByScore(
  scorer: RendezvousScorer,
  partitions: number,
  n: number,
  upper: number,
  load: number[],
): number[][] {
  const replicas: number[][] = [];
  const candidates: { members: number[]; scores: number[] }[] = [];
  const shortList = Math.min(scorer.memberCount, n + SHORT_LIST_EXTRA);
  /** Per partition: the position of its next candidate, and that candidate's score. */
  const next = new Uint32Array(partitions);
  const nextScore = new Float64Array(partitions);
  const heap = new PartitionHeap((partition) => nextScore[partition] ?? -1);
  for (let partition = 0; partition < partitions; partition++) {
    const ranked = bestMembers(scorer, partition, shortList, () => true);
    candidates.push(ranked);
    replicas.push([]);
    nextScore[partition] = ranked.scores[0] ?? -1;
    heap.push(partition);
  }
  for (;;) {
    const partition = heap.pop();
    if (partition === undefined) break;
    let ranked = candidates[partition] as { members: number[]; scores: number[] };
    const at = next[partition] ?? 0;
    const member = ranked.members[at] as number;
    const held = replicas[partition] as number[];
    if ((load[member] ?? 0) < upper) {
      held.push(member);
      load[member] = (load[member] ?? 0) + 1;
    }
    if (held.length === n) continue;
    if (at + 1 === ranked.members.length && ranked.members.length < scorer.memberCount) {
      // The short list ran out with the partition still short: extend it to every member.
      ranked = bestMembers(scorer, partition, scorer.memberCount, () => true);
      candidates[partition] = ranked;
    }
    if (at + 1 < ranked.members.length) {
      next[partition] = at + 1;
      nextScore[partition] = ranked.scores[at + 1] ?? -1;
      heap.push(partition);
    }
  }
  return replicas;
}

/** A binary max-heap of partitions by a key that changes only while a partition is out of it. */
class PartitionHeap {
  private readonly items: number[] = [];

  constructor(private readonly keyOf: (partition: number) => number) {}

  push(partition: number): void {
    const items = this.items;
    let at = items.length;
    items.push(partition);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(partition, items[parent] as number)) break;
      items[at] = items[parent] as number;
      at = parent;
    }
    items[at] = partition;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && this.before(items[right] as number, items[left] as number)
          ? right
          : left;
      if (!this.before(items[child] as number, last)) break;
      items[at] = items[child] as number;
      at = child;
    }
    items[at] = last;
    return top;
  }

  /** Higher key first; on equal keys the lower partition. */
  private before(a: number, b: number): boolean {
    const ka = this.keyOf(a);
    const kb = this.keyOf(b);
    return ka > kb || (ka === kb && a < b);
  }
}

/** Scores (partition, member) pairs: one reusable hash input per member. */
class RendezvousScorer {
  private readonly inputs: Buffer[];

  constructor(members: readonly string[]) {
    this.inputs = members.map((name) => {
      const nameBytes = Buffer.from(name, 'utf8');
      const input = Buffer.alloc(PARTITION_BYTES + nameBytes.length);
      nameBytes.copy(input, PARTITION_BYTES);
      return input;
    });
  }

  get memberCount(): number {
    return this.inputs.length;
  }

  score(partition: number, member: number): number {
    const input = this.inputs[member] as Buffer;
    input.writeUInt32BE(partition, 0);
    return rendezvousScore(input);
  }
}

/** The n highest-scoring members that pass `eligible`, best first (a bounded insertion). */
function bestMembers(
  scorer: RendezvousScorer,
  partition: number,
  n: number,
  eligible: (member: number) => boolean,
): { members: number[]; scores: number[] } {
  const bestIndex: number[] = [];
  const bestScore: number[] = [];
  for (let index = 0; index < scorer.memberCount; index++) {
    if (!eligible(index)) continue;
    const score = scorer.score(partition, index);
    // Members are sorted by name, so on equal scores the earlier one (smaller name) stays ahead.
    let at = bestScore.length;
    while (at > 0 && score > (bestScore[at - 1] ?? 0)) at--;
    if (at >= n) continue;
    bestScore.splice(at, 0, score);
    bestIndex.splice(at, 0, index);
    if (bestScore.length > n) {
      bestScore.pop();
      bestIndex.pop();
    }
  }
  return { members: bestIndex, scores: bestScore };
}

/**
 * Moves replicas until no member's count is `off`: each off member, most off first, trades with
 * `partner`-count members — taking partitions it lacks, its highest-scoring first, or giving
 * partitions it holds, its lowest-scoring first. Every trade brings the off member one closer.
 */
function rebalance(
  scorer: RendezvousScorer,
  replicas: number[][],
  load: number[],
  direction: 'give' | 'take',
  off: (count: number) => boolean,
  partner: (count: number) => boolean,
  move: (partition: number, from: number, to: number) => void,
): void {
  const taking = direction === 'take';
  for (;;) {
    let member = -1;
    for (const [index, count] of load.entries()) {
      const worse = taking ? count < (load[member] ?? 0) : count > (load[member] ?? 0);
      if (off(count) && (member < 0 || worse)) member = index;
    }
    if (member < 0) return;
    // A member taking looks at partitions it lacks; a member giving at partitions it holds.
    const candidates: { partition: number; score: number }[] = [];
    for (const [partition, held] of replicas.entries()) {
      if (held.includes(member) !== taking) {
        candidates.push({ partition, score: scorer.score(partition, member) });
      }
    }
    // Taking: its best partitions first. Giving: its worst first, where it matters least.
    candidates.sort(
      (a, b) => (taking ? b.score - a.score : a.score - b.score) || a.partition - b.partition,
    );
    const before = load[member] ?? 0;
    for (const { partition } of candidates) {
      if (!off(load[member] ?? 0)) break;
      const held = replicas[partition] ?? [];
      const other = taking
        ? lowestScoring(scorer, partition, held, (index) => partner(load[index] ?? 0))
        : highestScoringOutside(scorer, partition, held, load.length, (index) =>
            partner(load[index] ?? 0),
          );
      if (other !== undefined) {
        if (taking) move(partition, other, member);
        else move(partition, member, other);
      }
    }
    // Cannot happen (counts sum to a fixed total, so a partner always exists), but a pass that
    // moves nothing must not loop forever.
    if ((load[member] ?? 0) === before) return;
  }
}

/** The member not in `held` passing `eligible` that scores highest for the partition. */
function highestScoringOutside(
  scorer: RendezvousScorer,
  partition: number,
  held: readonly number[],
  memberCount: number,
  eligible: (member: number) => boolean,
): number | undefined {
  let highest: { index: number; score: number } | undefined;
  for (let index = 0; index < memberCount; index++) {
    if (held.includes(index) || !eligible(index)) continue;
    const score = scorer.score(partition, index);
    if (highest === undefined || score > highest.score) highest = { index, score };
  }
  return highest?.index;
}

/** Among `held`, the member passing `eligible` that scores lowest for the partition. */
function lowestScoring(
  scorer: RendezvousScorer,
  partition: number,
  held: readonly number[],
  eligible: (member: number) => boolean,
): number | undefined {
  let lowest: { index: number; score: number } | undefined;
  for (const index of held) {
    if (!eligible(index)) continue;
    const score = scorer.score(partition, index);
    if (lowest === undefined || score < lowest.score) lowest = { index, score };
  }
  return lowest?.index;
}

/** Puts a partition's replicas back in preference order (highest score first). */
function sortByScore(scorer: RendezvousScorer, partition: number, held: number[]): void {
  const scores = new Map(held.map((index) => [index, scorer.score(partition, index)]));
  held.sort((a, b) => (scores.get(b) ?? 0) - (scores.get(a) ?? 0) || a - b);
}

/** A 53-bit score from two independent 32-bit hashes of the (partition, name) input. */
function rendezvousScore(input: Uint8Array): number {
  const high = murmur3(input, SCORE_SEED_HIGH);
  const low = murmur3(input, SCORE_SEED_LOW) >>> (32 - SCORE_LOW_BITS);
  return high * 2 ** SCORE_LOW_BITS + low;
}

/** Each partition's replicas in a layout, as the members they are (left ones cannot appear). */
export function ownersByPartition(
  layout: PartitionLayout,
  members: readonly MemberView[],
): MemberView[][] {
  const byName = new Map(members.map((m) => [m.name, m]));
  return Array.from({ length: layout.partitions }, (_, partition) =>
    layout.replicasOf(partition).flatMap((name) => byName.get(name) ?? []),
  );
}

/** The member names a layout is computed from: every member that has not left. */
export function layoutMembers(members: readonly Pick<MemberView, 'name' | 'state'>[]): string[] {
  return members.filter((m) => m.state !== 'left').map((m) => m.name);
}
