// Request/reply RPC between peers over the TCP side of the gossip port, on the replication
// channel. The replication coordinator sends reads, writes and repair requests through
// PeerRpcClient; the gossip transport hands every replication-channel frame to PeerRpcServer.
//
// Wire format (each frame also goes through the envelope, so it is labelled and, with gossip keys,
// sealed; then length-prefixed by stream-frame):
//
//   request: u8 channel (StreamChannel.replication), msgpack { id: u32, method: string, params }
//   reply:   msgpack { id, result } or { id, error: { code, message } }   (no channel byte)
//
// msgpack here means msgpackr with records off: plain maps, binary values as bin (Buffers survive).
//
// The client keeps one persistent connection per peer and pipelines: a request is written as soon
// as it is made, without waiting for earlier replies, and replies are matched to requests by id.
// The transport answers the frames of one connection in order, so a handler that never settles
// would hold up everything behind it; the server therefore gives every handler a deadline and
// answers with an error when it passes. Each request has its own deadline on the client too, which
// rejects that request only. A broken connection rejects everything in flight on it, and the next
// call opens a new one. Calls to one peer beyond `inflightPerPeerMax` are refused at once rather
// than queued, so a slow peer cannot make this node buffer without bound.

import { connect, isIPv6, type Socket } from 'node:net';
import { Packr } from 'msgpackr';
import type { Envelope } from '../cluster/envelope.js';
import { writeCorked } from '../cluster/io/corked-write.js';
import { StreamChannel, type PeerAddr } from '../cluster/io/gossip-transport.js';
import { STREAM_FRAME_BYTES_MAX, STREAM_UNSENT_BYTES_MAX } from '../cluster/wire/limits.js';
import { FrameDecoder, frame } from '../cluster/wire/stream-frame.js';
import { PeerRpcError } from './peer-rpc-error.js';

export { PeerRpcError, isPeerRpcError, type PeerRpcErrorCode } from './peer-rpc-error.js';

/** Time to establish a connection before the peer counts as unreachable. */
export const PEER_RPC_CONNECT_TIMEOUT_MS = 3_000;
/** Default deadline of one call, from `call` to its reply. */
export const PEER_RPC_REQUEST_TIMEOUT_MS = 10_000;
/** Calls to one peer awaiting replies at once; more are refused with PEER_OVERLOADED. */
export const PEER_RPC_INFLIGHT_PER_PEER_MAX = 1_024;
/**
 * A connection with nothing in flight for this long is closed. Below the transport's inbound idle
 * timeout (60 s), so the client, not the server, normally ends an idle connection.
 */
export const PEER_RPC_IDLE_CLOSE_MS = 30_000;
/**
 * Server-side deadline of one handler. Above the client's default request deadline: it exists to
 * unblock the connection behind a stuck handler, not to decide for the caller.
 */
export const PEER_RPC_HANDLER_TIMEOUT_MS = 30_000;
/**
 * Largest encoded reply the server sends. The envelope adds the label (at most 257 bytes) and the
 * seal (35 bytes) before framing; the margin keeps the framed reply under STREAM_FRAME_BYTES_MAX.
 */
export const PEER_RPC_REPLY_BYTES_MAX = STREAM_FRAME_BYTES_MAX - 1_024;
/** Longest error message put in an error reply. */
const ERROR_MESSAGE_CHARS_MAX = 1_024;
const REQUEST_ID_MAX = 0xffff_ffff;

const packr = new Packr({ useRecords: false });

export interface PeerRpcClientOptions {
  /** The address connections leave from (the node's bind address when it names one). */
  localAddress?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  inflightPerPeerMax?: number;
  idleCloseMs?: number;
}

export type PeerRpcHandler = (params: unknown, from: PeerAddr) => Promise<unknown>;

export interface PeerRpcServerOptions {
  handlerTimeoutMs?: number;
  replyBytesMax?: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: PeerRpcError): void;
  timer: NodeJS.Timeout;
}

function describePeer(peer: PeerAddr): string {
  return isIPv6(peer.addr) ? `[${peer.addr}]:${peer.port}` : `${peer.addr}:${peer.port}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= REQUEST_ID_MAX;
}

/** An error's message, or the thrown value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One pooled connection to one peer and the requests in flight on it. */
class PeerConnection {
  readonly pending = new Map<number, Pending>();
  /** Settles once the socket has closed. */
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly decoder = new FrameDecoder();
  private readonly label: string;
  private connectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private failed = false;

  constructor(
    peer: PeerAddr,
    localAddress: string | undefined,
    private readonly envelope: Envelope,
    private readonly connectTimeoutMs: number,
    private readonly idleCloseMs: number,
    private readonly onGone: (conn: PeerConnection) => void,
  ) {
    this.label = describePeer(peer);
    this.socket = connect({ host: peer.addr, port: peer.port, localAddress });
    this.socket.setNoDelay(true);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.connectTimer = setTimeout(
      () => this.fail('PEER_UNREACHABLE', `connect timed out after ${this.connectTimeoutMs} ms`),
      this.connectTimeoutMs,
    );
    this.socket.once('connect', () => {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) =>
      this.fail('PEER_UNREACHABLE', err.message, err.code === 'ECONNREFUSED'),
    );
    this.socket.on('close', () => this.fail('PEER_UNREACHABLE', 'connection closed'));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Request bytes written but not yet taken by the peer's side of the connection. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** A request id not in flight on this connection. */
  allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= REQUEST_ID_MAX ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  send(
    id: number,
    bytes: Uint8Array,
    timeoutMs: number,
    resolve: (result: unknown) => void,
    reject: (err: PeerRpcError) => void,
  ): void {
    const timer = setTimeout(() => {
      if (this.pending.get(id)?.timer !== timer) return;
      this.pending.delete(id);
      reject(new PeerRpcError('PEER_TIMEOUT', `${this.label}: no reply within ${timeoutMs} ms`));
      this.maybeIdle();
    }, timeoutMs);
    this.pending.set(id, { resolve, reject, timer });
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.socket.ref();
    }
    // Requests made in the same tick leave in one write.
    writeCorked(this.socket, bytes);
  }

  /** Closes the connection, rejecting whatever is still in flight with `code`. Idempotent. */
  fail(code: 'PEER_UNREACHABLE' | 'PEER_PROTOCOL', reason: string, refused = false): void {
    if (this.failed) return;
    this.failed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.idleTimer);
    this.socket.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new PeerRpcError(code, `${this.label}: ${reason}`, undefined, refused));
    }
    this.onGone(this);
  }

  private maybeIdle(): void {
    if (this.failed || this.pending.size > 0 || this.idleTimer !== undefined) return;
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) this.fail('PEER_UNREACHABLE', 'closed while idle');
    }, this.idleCloseMs);
    // An idle pooled connection does not keep the process alive.
    this.idleTimer.unref();
    this.socket.unref();
  }

  private receive(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail('PEER_PROTOCOL', `bad reply framing: ${messageOf(err)}`);
      return;
    }
    for (const bytes of frames) {
      if (this.failed) return;
      this.receiveFrame(bytes);
    }
    this.maybeIdle();
  }

  private receiveFrame(bytes: Uint8Array): void {
    const opened = this.envelope.open(bytes);
    if (!opened.ok) {
      this.fail('PEER_PROTOCOL', `reply dropped (${opened.reason})`);
      return;
    }
    let reply: unknown;
    try {
      reply = packr.unpack(opened.payload);
    } catch (err) {
      this.fail('PEER_PROTOCOL', `undecodable reply: ${messageOf(err)}`);
      return;
    }
    if (!isRecord(reply)) {
      this.fail('PEER_PROTOCOL', 'reply is not a map');
      return;
    }
    const error = reply.error;
    if (!isRequestId(reply.id)) {
      // The server could not read a request of ours well enough to know its id.
      const detail =
        isRecord(error) && typeof error.message === 'string' ? error.message : 'no valid id';
      this.fail('PEER_PROTOCOL', `peer rejected a request: ${detail}`);
      return;
    }
    const pending = this.pending.get(reply.id);
    // A reply to a request that already timed out.
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (error === undefined) {
      pending.resolve(reply.result);
      return;
    }
    if (!isRecord(error) || typeof error.code !== 'string' || typeof error.message !== 'string') {
      pending.reject(new PeerRpcError('PEER_PROTOCOL', `${this.label}: malformed error reply`));
      return;
    }
    const code = error.code === 'PEER_PROTOCOL' ? 'PEER_PROTOCOL' : 'PEER_ERROR';
    pending.reject(new PeerRpcError(code, `${this.label}: ${error.message}`, error.code));
  }
}

/** What callers of peers depend on: the client below, or an in-process stand-in in unit tests. */
export interface PeerCaller {
  call(to: PeerAddr, method: string, params: unknown, timeoutMs?: number): Promise<unknown>;
}

export class PeerRpcClient implements PeerCaller {
  private readonly pool = new Map<string, PeerConnection>();
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly inflightPerPeerMax: number;
  private readonly idleCloseMs: number;
  private readonly localAddress: string | undefined;
  private closing = false;

  constructor(
    private readonly envelope: Envelope,
    options: PeerRpcClientOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? PEER_RPC_CONNECT_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? PEER_RPC_REQUEST_TIMEOUT_MS;
    this.inflightPerPeerMax = options.inflightPerPeerMax ?? PEER_RPC_INFLIGHT_PER_PEER_MAX;
    this.idleCloseMs = options.idleCloseMs ?? PEER_RPC_IDLE_CLOSE_MS;
    this.localAddress = options.localAddress;
  }

  /** Sends `method(params)` to `to` and resolves with the handler's result. */
  call(to: PeerAddr, method: string, params: unknown, timeoutMs?: number): Promise<unknown> {
    if (this.closing) {
      return Promise.reject(new PeerRpcError('PEER_UNREACHABLE', 'the RPC client is closed'));
    }
    // The port has no '/', so the key is unambiguous for IPv6 addresses too.
    const key = `${to.port}/${to.addr}`;
    let conn = this.pool.get(key);
    if (conn !== undefined && conn.pending.size >= this.inflightPerPeerMax) {
      return Promise.reject(
        new PeerRpcError(
          'PEER_OVERLOADED',
          `${describePeer(to)}: ${conn.pending.size} calls already in flight`,
        ),
      );
    }
    // A peer that stops reading leaves the bytes of requests that already timed out in the
    // socket, where the in-flight count no longer sees them: past the limit, calls are refused.
    if (conn !== undefined && conn.unsentBytes > STREAM_UNSENT_BYTES_MAX) {
      return Promise.reject(
        new PeerRpcError(
          'PEER_OVERLOADED',
          `${describePeer(to)}: ${conn.unsentBytes} bytes of requests not yet taken by the peer`,
        ),
      );
    }
    if (conn === undefined) {
      const created = new PeerConnection(
        to,
        this.localAddress,
        this.envelope,
        this.connectTimeoutMs,
        this.idleCloseMs,
        (gone) => {
          if (this.pool.get(key) === gone) this.pool.delete(key);
        },
      );
      this.pool.set(key, created);
      conn = created;
    }
    const id = conn.allocateId();
    let bytes: Uint8Array;
    try {
      const body = packr.pack({ id, method, params });
      const payload = Buffer.allocUnsafe(body.length + 1);
      payload[0] = StreamChannel.replication;
      payload.set(body, 1);
      bytes = frame(this.envelope.seal(payload));
    } catch (err) {
      return Promise.reject(
        new PeerRpcError('PEER_PROTOCOL', `cannot encode ${method} request: ${messageOf(err)}`),
      );
    }
    const target = conn;
    return new Promise((resolve, reject) =>
      target.send(id, bytes, timeoutMs ?? this.requestTimeoutMs, resolve, reject),
    );
  }

  /** Rejects every call in flight with PEER_UNREACHABLE and closes all connections. */
  async close(): Promise<void> {
    this.closing = true;
    const conns = [...this.pool.values()];
    this.pool.clear();
    for (const conn of conns) conn.fail('PEER_UNREACHABLE', 'the RPC client is closed');
    await Promise.all(conns.map((conn) => conn.closed));
  }
}

export class PeerRpcServer {
  private readonly handlers = new Map<string, PeerRpcHandler>();
  private readonly handlerTimeoutMs: number;
  private readonly replyBytesMax: number;

  constructor(handlers: Record<string, PeerRpcHandler>, options: PeerRpcServerOptions = {}) {
    // Own properties only: a method named "toString" must not reach Object.prototype.
    for (const [name, handler] of Object.entries(handlers)) this.handlers.set(name, handler);
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? PEER_RPC_HANDLER_TIMEOUT_MS;
    this.replyBytesMax = options.replyBytesMax ?? PEER_RPC_REPLY_BYTES_MAX;
  }

  /**
   * Answers one replication-channel frame (the channel byte already removed). Never throws: a
   * malformed request, an unknown method or a failing handler all become error replies.
   */
  async handleFrame(from: PeerAddr, payload: Uint8Array): Promise<Uint8Array> {
    let request: unknown;
    try {
      request = packr.unpack(payload);
    } catch (err) {
      return errorReply(null, 'PEER_PROTOCOL', `undecodable request: ${messageOf(err)}`);
    }
    if (!isRecord(request) || !isRequestId(request.id)) {
      return errorReply(null, 'PEER_PROTOCOL', 'request without a valid id');
    }
    const id = request.id;
    const method = request.method;
    if (typeof method !== 'string') {
      return errorReply(id, 'PEER_PROTOCOL', 'request without a method name');
    }
    const handler = this.handlers.get(method);
    if (handler === undefined) {
      return errorReply(id, 'UNKNOWN_METHOD', `unknown method ${JSON.stringify(method)}`);
    }
    let result: unknown;
    try {
      result = await this.runHandler(handler, request.params, from, method);
    } catch (err) {
      return errorReply(id, remoteCodeOf(err), messageOf(err));
    }
    let bytes: Uint8Array;
    try {
      bytes = packr.pack({ id, result });
    } catch (err) {
      return errorReply(id, 'REPLY_UNENCODABLE', `cannot encode the reply: ${messageOf(err)}`);
    }
    if (bytes.length > this.replyBytesMax) {
      return errorReply(
        id,
        'REPLY_TOO_LARGE',
        `reply of ${bytes.length} bytes, over the limit of ${this.replyBytesMax}`,
      );
    }
    return bytes;
  }

  private async runHandler(
    handler: PeerRpcHandler,
    params: unknown,
    from: PeerAddr,
    method: string,
  ): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            Object.assign(new Error(`${method} did not finish in ${this.handlerTimeoutMs} ms`), {
              code: 'HANDLER_TIMEOUT',
            }),
          ),
        this.handlerTimeoutMs,
      );
      // A stuck handler's deadline alone does not keep the process alive.
      timer.unref();
    });
    try {
      // Through `then` so a handler that throws synchronously is caught like one that rejects.
      return await Promise.race([Promise.resolve().then(() => handler(params, from)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A handler error's own code when it has a plain one, else HANDLER_FAILED. */
function remoteCodeOf(err: unknown): string {
  const code = isRecord(err) ? err.code : undefined;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'HANDLER_FAILED';
}

function errorReply(id: number | null, code: string, message: string): Uint8Array {
  return packr.pack({ id, error: { code, message: message.slice(0, ERROR_MESSAGE_CHARS_MAX) } });
}
