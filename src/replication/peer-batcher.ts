// Coalesces the requests a coordinator sends to one replica for one method within one turn of the
// event loop (everything the poll phase brought in) into a single batch request: one frame, one
// reply, one timer, and on the replica one store commit for all the writes, instead of a round
// trip per client request. Each item still gets its own outcome, so the coordinator counts
// acknowledgements and replies as before. Measured on a 3-node cluster under 32 connections:
// CPU per quorum PUT 475 -> 375 us with the batch flushed per turn; flushed per tick (after each
// request's own callbacks) it made no difference, 474 us.

import type { PeerAddr } from '../cluster/io/gossip-transport.js';
import { isPeerRpcError, type PeerCaller } from './peer-rpc.js';

/** Items per batch request at most; replicas refuse longer batches. */
export const PEER_BATCH_ITEMS_MAX = 256;
/** Payload bytes per batch request at most, well inside a peer frame (8 MiB). */
const PEER_BATCH_BYTES_MAX = 2 * 1024 * 1024;

interface Pending {
  params: unknown;
  bytes: number;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

export class PeerBatcher {
  private readonly queues = new Map<string, { to: PeerAddr; items: Pending[] }>();

  /** `method` takes `{ items }` and answers with one result per item, in order. */
  constructor(
    private readonly rpc: PeerCaller,
    private readonly method: string,
    private readonly timeoutMs: number,
  ) {}

  /** Queues one item for `to`; `bytes` is its payload size, to keep batches within a frame. */
  call(to: PeerAddr, params: unknown, bytes = 0): Promise<unknown> {
    const key = `${to.port}/${to.addr}`;
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { to, items: [] };
      this.queues.set(key, queue);
      setImmediate(() => this.flush(key));
    }
    const items = queue.items;
    return new Promise((resolve, reject) => items.push({ params, bytes, resolve, reject }));
  }

  private flush(key: string): void {
    const queue = this.queues.get(key);
    this.queues.delete(key);
    if (queue === undefined) return;
    let chunk: Pending[] = [];
    let bytes = 0;
    for (const item of queue.items) {
      const full =
        chunk.length >= PEER_BATCH_ITEMS_MAX ||
        (chunk.length > 0 && bytes + item.bytes > PEER_BATCH_BYTES_MAX);
      if (full) {
        this.send(queue.to, chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(item);
      bytes += item.bytes;
    }
    if (chunk.length > 0) this.send(queue.to, chunk);
  }

  private send(to: PeerAddr, chunk: Pending[]): void {
    const items = chunk.map((item) => item.params);
    this.rpc.call(to, this.method, { items }, this.timeoutMs).then(
      (reply) => {
        // A replica may answer the first items only, when the rest would make its reply large
        // (reads of large values); those are asked again.
        if (!Array.isArray(reply) || reply.length === 0 || reply.length > chunk.length) {
          const err = new Error(`malformed ${this.method} reply`);
          for (const item of chunk) item.reject(err);
          return;
        }
        for (const [i, answer] of reply.entries()) chunk[i]?.resolve(answer);
        if (reply.length < chunk.length) this.send(to, chunk.slice(reply.length));
      },
      (err: unknown) => {
        // Requests are bounded, replies cannot be: reads of a few large values together can
        // answer more than a frame holds. Halves are asked again, down to single items, which
        // always fit (a value is smaller than a frame).
        if (isPeerRpcError(err) && err.remoteCode === 'REPLY_TOO_LARGE' && chunk.length > 1) {
          const half = Math.ceil(chunk.length / 2);
          this.send(to, chunk.slice(0, half));
          this.send(to, chunk.slice(half));
          return;
        }
        for (const item of chunk) item.reject(err);
      },
    );
  }
}

/** The items of a batch request, checked: a list of at most PEER_BATCH_ITEMS_MAX. */
export function batchItems(params: unknown): unknown[] {
  const items = (params as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length > PEER_BATCH_ITEMS_MAX) {
    throw new Error(`items must be a list of at most ${PEER_BATCH_ITEMS_MAX}`);
  }
  return items;
}
