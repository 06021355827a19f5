// Every member this node knows, self included, by name, with counts per state kept current so
// that the cluster-size estimates the protocol formulas need cost nothing. Dead and left members
// stay (replication needs to know who is gone, and the node keeps trying dead ones) until they
// return or are force-removed; a force-removed member leaves a bounded tombstone so stale gossip
// cannot bring it back.

import type { MemberStateName } from '../wire/messages.js';
import type { Member } from './member.js';

export class MemberTable {
  private readonly byName = new Map<string, Member>();
  /** The same members in an array, for random picks; removal swaps the last one in. */
  private readonly list: Member[] = [];
  private readonly indexOf = new Map<string, number>();
  private readonly counts: Record<MemberStateName, number> = {
    alive: 0,
    suspect: 0,
    dead: 0,
    left: 0,
  };
  /** Force-removed members: name -> incarnation at removal, oldest first (Map keeps order). */
  private readonly removed = new Map<string, number>();

  constructor(
    private readonly maxMembers: number,
    private readonly maxRemoved: number,
  ) {}

  get size(): number {
    return this.list.length;
  }

  get isFull(): boolean {
    return this.list.length >= this.maxMembers;
  }

  get members(): readonly Member[] {
    return this.list;
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  count(state: MemberStateName): number {
    return this.counts[state];
  }

  /** Members believed to be running (alive or suspect), self included: the N of the formulas. */
  get liveCount(): number {
    return this.counts.alive + this.counts.suspect;
  }

  add(member: Member): void {
    if (this.byName.has(member.name)) {
      throw new Error(`member table invariant: ${member.name} is already present`);
    }
    if (this.isFull) throw new Error('member table invariant: add past the bound');
    this.byName.set(member.name, member);
    this.indexOf.set(member.name, this.list.length);
    this.list.push(member);
    this.counts[member.state]++;
    this.removed.delete(member.name);
  }

  setState(member: Member, state: MemberStateName, nowMs: number): void {
    if (member.state === state) return;
    this.counts[member.state]--;
    this.counts[state]++;
    member.state = state;
    member.stateChangeMs = nowMs;
  }

  /** Removes `name`; with `tombstone`, remembers its incarnation so stale news cannot re-add it. */
  remove(name: string, tombstone: boolean): Member | undefined {
    const member = this.byName.get(name);
    const index = this.indexOf.get(name);
    if (member === undefined || index === undefined) return undefined;
    const last = this.list.pop() as Member;
    if (last !== member) {
      this.list[index] = last;
      this.indexOf.set(last.name, index);
    }
    this.byName.delete(name);
    this.indexOf.delete(name);
    this.counts[member.state]--;
    if (tombstone) {
      this.removed.delete(name);
      this.removed.set(name, member.incarnation);
      while (this.removed.size > this.maxRemoved) {
        const oldest = this.removed.keys().next();
        if (oldest.done === true) break;
        this.removed.delete(oldest.value);
      }
    }
    return member;
  }

  /** Whether news of `name` at `incarnation` is about a member that was force-removed since. */
  isRemoved(name: string, incarnation: number): boolean {
    const at = this.removed.get(name);
    return at !== undefined && incarnation <= at;
  }

  /** Whether `name` was force-removed (and not seen again since). */
  wasRemoved(name: string): boolean {
    return this.removed.has(name);
  }

  /** The member dead or left the longest (never `except`), for eviction when the table is full. */
  longestGone(except: string): Member | undefined {
    let oldest: Member | undefined;
    for (const m of this.list) {
      if (m.name === except || (m.state !== 'dead' && m.state !== 'left')) continue;
      if (oldest === undefined || m.stateChangeMs < oldest.stateChangeMs) oldest = m;
    }
    return oldest;
  }
}
