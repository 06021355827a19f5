// The hint file (real LMDB in a temp dir) and hint delivery to members as they come and go.

import { join } from 'node:path';
import { open } from 'lmdb';
import { KEY_BYTES_LIMIT_MAX, NODE_NAME_BYTES_MAX } from '../../../src/config.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClusterView, MemberView } from '../../../src/cluster/cluster-view.js';
import type { MemberStateName } from '../../../src/cluster/wire/messages.js';
import {
  HINT_WINDOW_MS,
  HINTS_FILE_NAME,
  HintStore,
  type HintEvent,
} from '../../../src/replication/hint-store.js';
import { HintedHandoff } from '../../../src/replication/hinted-handoff.js';
import { batchItems } from '../../../src/replication/peer-batcher.js';
import type { PeerCaller } from '../../../src/replication/peer-rpc.js';
import { fromWire, type WireRecord } from '../../../src/replication/wire-record.js';
import type { StoredRecord } from '../../../src/store/record.js';
import { testMember } from '../../support/in-process-cluster.js';
import { makeTempDir } from '../../support/shoal-process.js';

function record(key: string, wallMs: number, value = `${key}@${wallMs}`): StoredRecord {
  return {
    key,
    value: Buffer.from(value),
    contentType: 'text/plain',
    version: { wallMs, counter: 0, node: 'n0' },
    tombstone: false,
    expiresAtMs: 0,
  };
}

const opened: HintStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function openHints(
  dir = makeTempDir('shoal-hints-'),
  events: HintEvent[] = [],
  max?: number,
): HintStore {
  const store = HintStore.open(
    dir,
    (event, count) => {
      for (let i = 0; i < count; i++) events.push(event);
    },
    max,
  );
  opened.push(store);
  return store;
}

describe('the hint store', () => {
  it('keeps one hint per replica and key, the newest, and survives a restart', async () => {
    const dir = makeTempDir('shoal-hints-');
    const first = openHints(dir);
    expect(await first.add('n1', record('a', 1), 0)).toBe(true);
    expect(await first.add('n1', record('a', 3), 0)).toBe(true);
    expect(await first.add('n1', record('a', 2), 0)).toBe(false); // older than the hint kept
    expect(await first.add('n2', record('a', 1), 0)).toBe(true);
    expect(await first.add('n1', record('b', 1), 0)).toBe(true);
    expect(first.pending).toBe(3);
    await first.close();
    opened.pop();

    const again = openHints(dir);
    expect(again.pending).toBe(3);
    expect(again.targets().sort()).toEqual(['n1', 'n2']);
    const batch = again.batch('n1', 10);
    expect(batch.map((h) => [h.record.key, h.record.version.wallMs])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(batch[0]?.record.value.toString()).toBe('a@3');
  });

  it('stops taking hints for new keys when full, but still takes newer writes of kept keys', async () => {
    const events: HintEvent[] = [];
    const hints = openHints(undefined, events, 3);
    for (const key of ['a', 'b', 'c']) expect(await hints.add('n1', record(key, 1), 0)).toBe(true);
    expect(await hints.add('n1', record('d', 1), 0)).toBe(false);
    expect(await hints.add('n2', record('a', 1), 0)).toBe(false);
    expect(await hints.add('n1', record('a', 2), 0)).toBe(true);
    // Already carried by the hint kept for `a`: nothing is lost, nothing counted.
    expect(await hints.add('n1', record('a', 2), 0)).toBe(false);
    expect(hints.pending).toBe(3);
    expect(events.filter((e) => e === 'dropped')).toHaveLength(2);
    expect(events.filter((e) => e === 'stored')).toHaveLength(4);
  });

  it('removes a delivered hint only if no newer write replaced it meanwhile', async () => {
    const events: HintEvent[] = [];
    const hints = openHints(undefined, events);
    await hints.add('n1', record('a', 1), 0);
    await hints.add('n1', record('b', 1), 0);
    const batch = hints.batch('n1', 10);
    await hints.add('n1', record('a', 5), 0);
    await hints.remove(batch, 'delivered');
    expect(hints.pending).toBe(1);
    expect(hints.batch('n1', 10).map((h) => h.record.version.wallMs)).toEqual([5]);
    expect(events).toEqual(['stored', 'stored', 'stored', 'delivered']);
  });

  it('hands out every key of a target, those beyond the Basic Multilingual Plane included', async () => {
    const hints = openHints();
    const keys = ['plain', '\u{ffff}end', '😀', '𠀀cjk'];
    for (const key of keys) await hints.add('n1', record(key, 1), 0);
    await hints.add('n2', record('other', 1), 0);
    const batch = hints.batch('n1', 10);
    expect(batch.map((h) => h.record.key).sort()).toEqual([...keys].sort());
    await hints.remove(batch, 'delivered');
    expect(hints.targets()).toEqual(['n2']);
    expect(hints.batch('n1', 10)).toEqual([]);
  });

  it('keeps hints of the longest keys, except for a member whose name leaves no room, which it counts dropped', async () => {
    const events: HintEvent[] = [];
    const hints = openHints(undefined, events);
    // Four UTF-8 bytes per character, up to the limit.
    const key = '😀'.repeat(KEY_BYTES_LIMIT_MAX / 4);
    expect(await hints.add('n1', record(key, 1), 0)).toBe(true);
    expect(hints.batch('n1', 10).map((h) => h.record.key)).toEqual([key]);
    const longName = 'n'.repeat(NODE_NAME_BYTES_MAX);
    expect(await hints.add(longName, record(key, 1), 0)).toBe(false);
    expect(await hints.add(longName, record('short', 1), 0)).toBe(true);
    expect(events).toEqual(['stored', 'dropped', 'stored']);
    expect(hints.pending).toBe(2);
  });

  it('drops a hint the file holds damaged, and hands out the ones after it', async () => {
    const dir = makeTempDir('shoal-hints-');
    const events: HintEvent[] = [];
    const hints = openHints(dir, events);
    await hints.add('n1', record('a', 1), 0);
    await hints.add('n1', record('c', 1), 0);
    // A damaged entry, as a torn write or a bad disk would leave it: the record lacks its value.
    const raw = open({ path: join(dir, HINTS_FILE_NAME), maxDbs: 2, compression: false });
    await raw
      .openDB({ name: 'hints', encoding: 'msgpack' })
      .put(['n1', 'b'], { record: { key: 'b' }, storedAtMs: 0 });
    await raw.close();

    const reopened = openHints(dir, events);
    expect(reopened.pending).toBe(3);
    expect(reopened.batch('n1', 10).map((h) => h.record.key)).toEqual(['a', 'c']);
    await vi.waitFor(() => expect(reopened.pending).toBe(2));
    expect(events.filter((e) => e === 'dropped')).toHaveLength(1);
  });
});

describe('hint delivery', () => {
  function cluster(states: Record<string, MemberStateName>): ClusterView {
    return {
      selfName: 'n0',
      generation: 0,
      members: (): MemberView[] =>
        Object.entries(states).map(([name, state]) => testMember(name, state)),
      forceRemove: () => 'alive',
    };
  }

  /** Records what each member received; members in `refusing` fail the call. */
  function peers(refusing: Set<string>): { rpc: PeerCaller; received: Map<string, string[]> } {
    const received = new Map<string, string[]>();
    const rpc: PeerCaller = {
      call: (to, method, params) => {
        if (refusing.has(to.addr) || method !== 'applyBatch') {
          return Promise.reject(new Error('unreachable'));
        }
        const got = batchItems(params).map((item) => fromWire(item as WireRecord));
        const values = got.map((record) => record.value.toString());
        received.set(to.addr, [...(received.get(to.addr) ?? []), ...values]);
        return Promise.resolve(got.map(() => true));
      },
    };
    return { rpc, received };
  }

  it('delivers to a member once it is alive again, and keeps hints while it is not', async () => {
    const hints = openHints();
    for (let i = 0; i < 300; i++) await hints.add('n1', record(`k${i}`, 1, `v${i}`), Date.now());
    const states: Record<string, MemberStateName> = { n0: 'alive', n1: 'dead' };
    const { rpc, received } = peers(new Set());
    const handoff = new HintedHandoff(hints, cluster(states), rpc);
    expect(await handoff.deliver()).toBe(0);
    expect(hints.pending).toBe(300);
    states.n1 = 'alive';
    expect(await handoff.deliver()).toBe(300);
    expect(hints.pending).toBe(0);
    expect(new Set(received.get('n1'))).toEqual(
      new Set(Array.from({ length: 300 }, (_, i) => `v${i}`)),
    );
  });

  it('keeps what a member did not take, and drops hints for members that left or expired, and those for members it does not know once past the window', async () => {
    const events: HintEvent[] = [];
    const hints = openHints(undefined, events);
    const now = 10 * HINT_WINDOW_MS;
    await hints.add('n1', record('a', 1), now);
    await hints.add('n2', record('b', 1), now);
    await hints.add('n3', record('c', 1), now - HINT_WINDOW_MS - 1);
    await hints.add('n9', record('d', 1), now); // not (yet) in this node's member list
    // Removed from the member list (DELETE /v1/cluster/members) longer ago than the window.
    for (let i = 0; i < 300; i++) {
      await hints.add('n8', record(`e${i}`, 1), now - HINT_WINDOW_MS - 1);
    }
    const refusing = new Set(['n1']);
    const { rpc } = peers(refusing);
    const handoff = new HintedHandoff(
      hints,
      cluster({ n0: 'alive', n1: 'alive', n2: 'left', n3: 'alive' }),
      rpc,
      () => now,
    );
    expect(await handoff.deliver()).toBe(0);
    expect(hints.targets().sort()).toEqual(['n1', 'n9']);
    expect(events.filter((e) => e === 'dropped')).toHaveLength(2 + 300);
    refusing.delete('n1');
    expect(await handoff.deliver()).toBe(1);
    expect(hints.pending).toBe(1);
  });

  it('drops hints older than the tombstone grace period when it is shorter than the window', async () => {
    const events: HintEvent[] = [];
    const hints = openHints(undefined, events);
    const now = 10 * HINT_WINDOW_MS;
    const graceMs = 60_000;
    await hints.add('n1', record('past-grace', 1), now - graceMs - 1);
    await hints.add('n1', record('within-grace', 1), now - graceMs + 1);
    const { rpc } = peers(new Set());
    const handoff = new HintedHandoff(
      hints,
      cluster({ n0: 'alive', n1: 'alive' }),
      rpc,
      () => now,
      graceMs,
    );
    expect(await handoff.deliver()).toBe(1);
    expect(events.filter((e) => e === 'dropped')).toHaveLength(1);
    expect(hints.pending).toBe(0);
  });

  it('reports a member that is alive yet does not take its hints, once per round', async () => {
    const hints = openHints();
    for (let i = 0; i < 3; i++) await hints.add('n1', record(`k${i}`, 1), Date.now());
    const refusing = new Set(['n1']);
    const { rpc } = peers(refusing);
    const handoff = new HintedHandoff(hints, cluster({ n0: 'alive', n1: 'alive' }), rpc);
    const failures: unknown[] = [];
    // Only to set the reporter: the rounds below are run by hand.
    handoff.start((err) => failures.push(err));
    await handoff.stop();
    expect(await handoff.deliver()).toBe(0);
    expect(await handoff.deliver()).toBe(0);
    // Three hints refused in each round, one report per round.
    expect(failures).toHaveLength(2);
    expect(String(failures[0])).toContain('unreachable');
    expect(hints.pending).toBe(3);
    refusing.delete('n1');
    expect(await handoff.deliver()).toBe(3);
    expect(failures).toHaveLength(2);
  });
});
