// The only code that touches the network for peer traffic: one UDP socket and one TCP listener
// on the gossip port (as memberlist does). UDP carries SWIM packets; TCP carries request/reply
// streams (push-pull state sync, the fallback ping, and later replication), one length-prefixed
// frame per message, each frame sealed by the envelope. Every stream frame starts with a channel
// byte so several protocols share the listener.

import { createSocket, type Socket } from 'node:dgram';
import { createServer, connect, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { Envelope, DropReason } from '../envelope.js';
import { FrameDecoder, frame } from '../wire/stream-frame.js';
import { STREAM_FRAME_BYTES_MAX, STREAM_UNSENT_BYTES_MAX } from '../wire/limits.js';
import { writeCorked } from './corked-write.js';
import { CodecError } from '../wire/codec-error.js';
import { connectionSource } from '../../config.js';

export interface PeerAddr {
  addr: string;
  port: number;
}

export const StreamChannel = { membership: 0, replication: 1 } as const;
export type StreamChannelId = (typeof StreamChannel)[keyof typeof StreamChannel];

/** Inbound TCP connections held at once; more are refused so a flood cannot exhaust memory. */
export const STREAM_CONNECTIONS_MAX = 256;
/** An inbound stream connection with no traffic for this long is closed. */
export const STREAM_IDLE_TIMEOUT_MS = 60_000;
/**
 * An inbound stream connection must bring a whole first frame within this, or it is closed.
 * Until then nothing shows it comes from a member (a sealed frame is checked once complete), and
 * one that sends a byte now and then would otherwise hold one of the STREAM_CONNECTIONS_MAX
 * places for good: 256 such connections would shut every member out.
 */
export const STREAM_FIRST_FRAME_TIMEOUT_MS = 10_000;
/**
 * Frames of one connection being answered at once, at most; past it the connection stops being
 * read until some answers are out (TCP backpressure then slows the sender).
 */
export const STREAM_INFLIGHT_PER_CONNECTION_MAX = 256;
/**
 * Reply bytes not taken at which a connection is closed. Frames already taken up are answered
 * even once reading has stopped, up to STREAM_INFLIGHT_PER_CONNECTION_MAX of them, and a peer
 * that sent them all at once and reads nothing would have every reply buffered. A peer that reads
 * never gets here; one that does not has no use for the replies (its calls time out, and its next
 * call opens a new connection).
 */
export const STREAM_UNSENT_REPLY_BYTES_CLOSE = 8 * STREAM_FRAME_BYTES_MAX;
/** Default deadline for one stream request (connect, send, reply). */
export const STREAM_REQUEST_TIMEOUT_MS = 10_000;

export interface TransportHandlers {
  onPacket(from: PeerAddr, payload: Uint8Array): void;
  /** Answers one stream frame; undefined sends no reply. */
  onStream(channel: number, from: PeerAddr, payload: Uint8Array): Promise<Uint8Array | undefined>;
  onDrop(reason: DropReason | 'stream_malformed' | 'stream_refused' | 'send_failed'): void;
}

export class StreamError extends Error {
  readonly code = 'STREAM_FAILED';
}

export class GossipTransport {
  private readonly connections = new Set<TcpSocket>();

  private constructor(
    private readonly udp: Socket,
    private readonly tcp: Server,
    /** Where stream connections leave from: the bind address, when it names one. */
    private readonly localAddress: string | undefined,
    private readonly envelope: Envelope,
    private readonly handlers: TransportHandlers,
    private readonly firstFrameTimeoutMs: number,
  ) {}

  static async listen(
    bindAddr: string,
    port: number,
    envelope: Envelope,
    handlers: TransportHandlers,
    options: { firstFrameTimeoutMs?: number } = {},
  ): Promise<GossipTransport> {
    const udp = createSocket({ type: isIPv6(bindAddr) ? 'udp6' : 'udp4', reuseAddr: false });
    const tcp = createServer();
    const transport = new GossipTransport(
      udp,
      tcp,
      connectionSource(bindAddr),
      envelope,
      handlers,
      options.firstFrameTimeoutMs ?? STREAM_FIRST_FRAME_TIMEOUT_MS,
    );
    udp.on('message', (msg, rinfo) =>
      transport.receivePacket(msg, { addr: rinfo.address, port: rinfo.port }),
    );
    // A send to an unreachable peer can surface as a socket error; it must not end the node.
    udp.on('error', () => handlers.onDrop('send_failed'));
    tcp.on('connection', (socket) => transport.acceptStream(socket));
    tcp.maxConnections = STREAM_CONNECTIONS_MAX;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, bindAddr, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, bindAddr, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    return transport;
  }

  sendPacket(to: PeerAddr, payload: Uint8Array): void {
    const bytes = this.envelope.seal(payload);
    this.udp.send(bytes, to.port, to.addr, (err) => {
      if (err) this.handlers.onDrop('send_failed');
    });
  }

  /** Opens a connection, sends one frame on `channel` and resolves with the reply frame. */
  request(
    to: PeerAddr,
    channel: number,
    payload: Uint8Array,
    timeoutMs = STREAM_REQUEST_TIMEOUT_MS,
  ): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: to.addr, port: to.port, localAddress: this.localAddress });
      const decoder = new FrameDecoder();
      // Called from socket events and the timer only, after `deadline` is set.
      const fail = (message: string): void => {
        clearTimeout(deadline);
        socket.destroy();
        reject(new StreamError(`stream to ${to.addr}:${to.port}: ${message}`));
      };
      // A deadline, not an idle timeout: a peer that sends a byte now and then must not hold the
      // request (and its socket) open for good.
      const deadline = setTimeout(() => fail('timed out'), timeoutMs);
      socket.on('error', (err) => fail(err.message));
      socket.on('close', () => fail('closed before a reply'));
      socket.on('connect', () => {
        try {
          socket.write(frame(this.envelope.seal(withChannel(channel, payload))));
        } catch (err) {
          fail(`cannot send: ${(err as Error).message}`);
        }
      });
      socket.on('data', (chunk) => {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch {
          fail('malformed reply');
          return;
        }
        const first = frames[0];
        if (first === undefined) return;
        const opened = this.envelope.open(first);
        clearTimeout(deadline);
        socket.end();
        socket.removeAllListeners('close');
        if (!opened.ok) {
          this.handlers.onDrop(opened.reason);
          reject(
            new StreamError(`stream to ${to.addr}:${to.port}: reply dropped (${opened.reason})`),
          );
          return;
        }
        resolve(opened.payload);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
    ]);
  }

  private receivePacket(bytes: Buffer, from: PeerAddr): void {
    const opened = this.envelope.open(bytes);
    if (!opened.ok) {
      this.handlers.onDrop(opened.reason);
      return;
    }
    this.handlers.onPacket(from, opened.payload);
  }

  private acceptStream(socket: TcpSocket): void {
    this.connections.add(socket);
    // Replies are small frames written one after another: with Nagle's algorithm a reply waits
    // for the acknowledgement of the one before, which the peer may delay by up to 40 ms.
    socket.setNoDelay(true);
    const from = { addr: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const decoder = new FrameDecoder();
    socket.setTimeout(STREAM_IDLE_TIMEOUT_MS, () => socket.destroy());
    let firstFrame: NodeJS.Timeout | undefined = setTimeout(() => {
      this.handlers.onDrop('stream_refused');
      socket.destroy();
    }, this.firstFrameTimeoutMs);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(firstFrame);
      this.connections.delete(socket);
    });
    // Frames of one connection are answered concurrently, replies in whatever order they are
    // ready (a replication request carries its id): writes that arrive together then share one
    // store commit, instead of each waiting for the commit of the one before.
    // Frames are taken up only while fewer than STREAM_INFLIGHT_PER_CONNECTION_MAX are being
    // answered and the peer takes its replies; the rest wait, and the connection is not read
    // meanwhile (TCP backpressure then slows the sender). A peer that sends requests and never
    // reads the replies would otherwise make this node buffer every one of them; one that sent
    // many at once is closed once STREAM_UNSENT_REPLY_BYTES_CLOSE wait (see answer()).
    let inFlight = 0;
    const waiting: Uint8Array[] = [];
    const canTakeUp = (): boolean =>
      inFlight < STREAM_INFLIGHT_PER_CONNECTION_MAX &&
      socket.writableLength <= STREAM_UNSENT_BYTES_MAX;
    const takeUp = (): void => {
      while (waiting.length > 0 && canTakeUp() && !socket.destroyed) {
        inFlight++;
        // answer() reports every failure itself; the catch only keeps a rejection from escaping.
        this.answer(socket, from, waiting.shift() as Uint8Array)
          .catch(() => socket.destroy())
          .finally(() => {
            inFlight--;
            takeUp();
          });
      }
      if (waiting.length > 0 || !canTakeUp()) socket.pause();
      else if (socket.isPaused()) socket.resume();
    };
    socket.on('drain', takeUp);
    socket.on('data', (chunk) => {
      try {
        for (const bytes of decoder.push(chunk)) waiting.push(bytes);
        if (firstFrame !== undefined && waiting.length > 0) {
          clearTimeout(firstFrame);
          firstFrame = undefined;
        }
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        this.handlers.onDrop('stream_malformed');
        socket.destroy();
        return;
      }
      takeUp();
    });
  }

  private async answer(socket: TcpSocket, from: PeerAddr, bytes: Uint8Array): Promise<void> {
    const opened = this.envelope.open(bytes);
    if (!opened.ok || opened.payload.length < 1) {
      this.handlers.onDrop(opened.ok ? 'stream_malformed' : opened.reason);
      socket.destroy();
      return;
    }
    let reply: Uint8Array | undefined;
    try {
      reply = await this.handlers.onStream(
        opened.payload[0] ?? 0,
        from,
        opened.payload.subarray(1),
      );
    } catch {
      this.handlers.onDrop('stream_malformed');
      socket.destroy();
      return;
    }
    if (socket.destroyed) return;
    // Nothing to answer (a channel nobody serves, or membership on a node that has left): the
    // requester learns at once rather than at its deadline.
    if (reply === undefined) {
      socket.destroy();
      return;
    }
    if (socket.writableLength > STREAM_UNSENT_REPLY_BYTES_CLOSE) {
      this.handlers.onDrop('stream_refused');
      socket.destroy();
      return;
    }
    try {
      writeCorked(socket, frame(this.envelope.seal(reply)));
    } catch {
      // A reply too large to frame: the peer gets no answer and times out, the node carries on.
      this.handlers.onDrop('stream_malformed');
      socket.destroy();
    }
  }
}

function withChannel(channel: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = channel;
  out.set(payload, 1);
  return out;
}
