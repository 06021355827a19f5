// Hints: writes a replica missed, kept by the coordinator until that replica can take them
// (Cassandra's and Riak's hinted handoff). One hint per (replica, key): a newer write to the same
// key replaces the older hint, so a replica that is down for long costs one record per key it
// missed, not one per write. Hints live in their own LMDB file beside the store, so they survive
// a restart of the coordinator, and are bounded in count; past the bound, or past the hint
// window, a missed write is left to anti-entropy, which repairs it later at a higher cost.

import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { checkLmdbFile } from '../store/lmdb-file-check.js';
import type { StoredRecord } from '../store/record.js';
import { compareVersions } from '../store/version.js';
import { fromWire, toWire, type WireRecord } from './wire-record.js';

export const HINTS_FILE_NAME = 'hints.mdb';
/** Hints kept at most; a coordinator facing a long outage stops adding (anti-entropy takes over). */
export const HINTS_MAX = 200_000;
/** Hints older than this are dropped undelivered, as Cassandra's max_hint_window (3 hours). */
export const HINT_WINDOW_MS = 3 * 60 * 60 * 1000;
/**
 * Longest hint id, in UTF-8 bytes of the target's name and the key together, that stays within
 * LMDB's 1978-byte keys with the id's own encoding (measured: 1976 bytes fit). A long key for a
 * member of a long name gets no hint; anti-entropy repairs that replica instead.
 */
const HINT_ID_BYTES_MAX = 1_950;

type HintKey = [target: string, key: string];

interface StoredHint {
  record: WireRecord;
  storedAtMs: number;
}

export interface Hint {
  target: string;
  record: StoredRecord;
  storedAtMs: number;
}

export type HintEvent = 'stored' | 'delivered' | 'dropped';

export class HintStore {
  private readonly perTarget = new Map<string, number>();
  private count = 0;

  private constructor(
    private readonly root: RootDatabase,
    private readonly hints: Database<StoredHint, HintKey>,
    private readonly onEvent: (event: HintEvent, count: number) => void,
    private readonly max: number,
  ) {
    // Keys only: counting at start-up need not decode a single hint.
    for (const key of hints.getKeys()) this.counted(key[0], 1);
  }

  static open(
    dataDir: string,
    onEvent: (event: HintEvent, count: number) => void = () => undefined,
    max = HINTS_MAX,
  ): HintStore {
    checkLmdbFile(join(dataDir, HINTS_FILE_NAME));
    const root = open({ path: join(dataDir, HINTS_FILE_NAME), maxDbs: 2, compression: false });
    const hints = root.openDB<StoredHint, HintKey>({ name: 'hints', encoding: 'msgpack' });
    return new HintStore(root, hints, onEvent, max);
  }

  /** Hints waiting for delivery. */
  get pending(): number {
    return this.count;
  }

  /** Members that have hints waiting. */
  targets(): string[] {
    return [...this.perTarget.keys()];
  }

  /**
   * Keeps the record for the target unless a hint for the same key is as new or newer. Resolves
   * once durable; false when the hint was not kept (full, or already covered).
   */
  async add(target: string, record: StoredRecord, nowMs: number): Promise<boolean> {
    if (Buffer.byteLength(target) + Buffer.byteLength(record.key) > HINT_ID_BYTES_MAX) {
      this.onEvent('dropped', 1);
      return false;
    }
    const id: HintKey = [target, record.key];
    let added = false;
    const outcome = await this.hints.transaction((): 'stored' | 'covered' | 'full' => {
      const current = this.hints.get(id);
      if (
        current !== undefined &&
        compareVersions(fromWire(current.record).version, record.version) >= 0
      ) {
        return 'covered';
      }
      if (current === undefined && this.count >= this.max) return 'full';
      added = current === undefined;
      void this.hints.put(id, { record: toWire(record), storedAtMs: nowMs });
      return 'stored';
    });
    if (added) this.counted(target, 1);
    // A write an equal or newer hint already carries loses nothing: not counted as dropped.
    if (outcome !== 'covered') this.onEvent(outcome === 'stored' ? 'stored' : 'dropped', 1);
    return outcome === 'stored';
  }

  /**
   * Up to `max` of the target's hints, in key order. A hint that no longer decodes (a damaged
   * file) is dropped, so it cannot hold up the ones after it.
   */
  batch(target: string, max: number): Hint[] {
    const out: Hint[] = [];
    const damaged: HintKey[] = [];
    // No end bound: any string chosen as the end would sort before some keys (U+FFFF sorts
    // before the characters beyond it in UTF-8). The target's hints are the run that starts here.
    for (const { key, value } of this.hints.getRange({ start: [target] })) {
      if (key[0] !== target || out.length >= max) break;
      try {
        out.push({ target, record: fromWire(value.record), storedAtMs: value.storedAtMs });
      } catch {
        damaged.push(key);
      }
    }
    if (damaged.length > 0) void this.drop(damaged);
    return out;
  }

  private async drop(ids: readonly HintKey[]): Promise<void> {
    const removed: string[] = [];
    await this.hints.transaction(() => {
      for (const id of ids) {
        // Another batch may have found it damaged too and dropped it first.
        if (this.hints.get(id) === undefined) continue;
        void this.hints.remove(id);
        removed.push(id[0]);
      }
    });
    for (const target of removed) this.counted(target, -1);
    if (removed.length > 0) this.onEvent('dropped', removed.length);
  }

  /** Removes delivered (or given-up) hints, unless a newer write replaced one meanwhile. */
  async remove(hints: readonly Hint[], event: 'delivered' | 'dropped'): Promise<void> {
    const removed: string[] = [];
    await this.hints.transaction(() => {
      for (const hint of hints) {
        const id: HintKey = [hint.target, hint.record.key];
        const current = this.hints.get(id);
        if (current === undefined) continue;
        if (compareVersions(fromWire(current.record).version, hint.record.version) !== 0) continue;
        void this.hints.remove(id);
        removed.push(hint.target);
      }
    });
    for (const target of removed) this.counted(target, -1);
    if (removed.length > 0) this.onEvent(event, removed.length);
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  private counted(target: string, delta: number): void {
    this.count += delta;
    const left = (this.perTarget.get(target) ?? 0) + delta;
    if (left > 0) this.perTarget.set(target, left);
    else this.perTarget.delete(target);
  }
}
