// The simulator's agenda: callbacks ordered by virtual time, ties broken by the order they were
// scheduled, so that a run is a pure function of its seed. A binary heap: a thousand nodes keep
// tens of thousands of pending events.

interface Entry {
  atMs: number;
  seq: number;
  run: () => void;
}

function before(a: Entry, b: Entry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Time of the earliest event, or Infinity when there is none. */
  peekMs(): number {
    return this.heap[0]?.atMs ?? Infinity;
  }

  schedule(atMs: number, run: () => void): void {
    const heap = this.heap;
    const entry: Entry = { atMs, seq: this.seq++, run };
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Entry;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Removes and returns the earliest event. */
  pop(): { atMs: number; run: () => void } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && before(heap[r] as Entry, heap[l] as Entry) ? r : l;
        if (!before(heap[child] as Entry, last)) break;
        heap[i] = heap[child] as Entry;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
