// Who holds each partition. Rendezvous (highest-random-weight) hashing: every member gets a score
// per partition from a hash of (partition, member name), and a partition's replicas are the N
// members with the highest scores, in that order (the first is the preferred coordinator). Every
// node computes the same layout from the same member names, with no coordination; a member that
// joins takes over only the partitions where it outranks the current N-th replica (about N/M of
// them), and the other members' ranking among themselves never changes, so nothing moves between
// two members that were already there.
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
    // One hash input per member, the partition number rewritten in front for each partition.
    const inputs = members.map((name) => {
      const nameBytes = Buffer.from(name, 'utf8');
      const input = Buffer.alloc(PARTITION_BYTES + nameBytes.length);
      nameBytes.copy(input, PARTITION_BYTES);
      return input;
    });
    const replicas: string[][] = [];
    // The best n so far, best first: a bounded insertion, as n is small next to the member count.
    const bestIndex: number[] = [];
    const bestScore: number[] = [];
    for (let partition = 0; partition < this.partitions; partition++) {
      bestIndex.length = 0;
      bestScore.length = 0;
      for (const [index, input] of inputs.entries()) {
        input.writeUInt32BE(partition, 0);
        const score = rendezvousScore(input);
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
      replicas.push(bestIndex.map((index) => members[index] ?? ''));
    }
    return replicas;
  }
}

/** A 53-bit score from two independent 32-bit hashes of the (partition, name) input. */
function rendezvousScore(input: Uint8Array): number {
  const high = murmur3(input, SCORE_SEED_HIGH);
  const low = murmur3(input, SCORE_SEED_LOW) >>> (32 - SCORE_LOW_BITS);
  return high * 2 ** SCORE_LOW_BITS + low;
}

/** The member names a layout is computed from: every member that has not left. */
export function layoutMembers(members: readonly Pick<MemberView, 'name' | 'state'>[]): string[] {
  return members.filter((m) => m.state !== 'left').map((m) => m.name);
}
