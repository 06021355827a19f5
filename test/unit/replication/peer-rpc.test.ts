import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Envelope } from '../../../src/cluster/envelope.js';
import {
  GossipTransport,
  StreamChannel,
  type PeerAddr,
} from '../../../src/cluster/io/gossip-transport.js';
import { Keyring } from '../../../src/cluster/security/keyring.js';
import { FrameDecoder, frame } from '../../../src/cluster/wire/stream-frame.js';
import { Packr } from 'msgpackr';
import {
  PeerRpcClient,
  PeerRpcError,
  PeerRpcServer,
  type PeerRpcClientOptions,
  type PeerRpcHandler,
  type PeerRpcServerOptions,
} from '../../../src/replication/peer-rpc.js';

const CLUSTER = 'rpc-test';
const plain = new Envelope(CLUSTER, undefined);
const packr = new Packr({ useRecords: false });

const transports = new Set<GossipTransport>();
const clients: PeerRpcClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all([...transports].map((t) => t.close()));
  transports.clear();
});

/** A port free on loopback right now (for TCP; UDP on the same number is checked by listen). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Peer {
  transport: GossipTransport;
  addr: PeerAddr;
  /** Source ports of the connections requests arrived on: one per client connection. */
  connections: Set<number>;
}

async function startPeer(
  handlers: Record<string, PeerRpcHandler>,
  opts: { envelope?: Envelope; port?: number; server?: PeerRpcServerOptions } = {},
): Promise<Peer> {
  const envelope = opts.envelope ?? plain;
  const connections = new Set<number>();
  const server = new PeerRpcServer(handlers, opts.server);
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      const transport = await GossipTransport.listen('127.0.0.1', port, envelope, {
        onPacket: () => {},
        onDrop: () => {},
        onStream: async (channel, from, payload) => {
          if (channel !== StreamChannel.replication) return undefined;
          connections.add(from.port);
          return server.handleFrame(from, payload);
        },
      });
      transports.add(transport);
      return { transport, addr: { addr: '127.0.0.1', port }, connections };
    } catch (err) {
      if (opts.port !== undefined || attempt >= 5) throw err;
    }
  }
}

async function stopPeer(peer: Peer): Promise<void> {
  transports.delete(peer.transport);
  await peer.transport.close();
}

function client(envelope: Envelope = plain, options?: PeerRpcClientOptions): PeerRpcClient {
  const c = new PeerRpcClient(envelope, options);
  clients.push(c);
  return c;
}

const handlers: Record<string, PeerRpcHandler> = {
  echo: async (params) => ({ params, blob: Buffer.from([0, 255, 1, 128]) }),
  double: async (params) => (params as number) * 2,
  fail: async () => {
    throw new Error('boom: disk on fire');
  },
  failCoded: async () => {
    throw Object.assign(new Error('no such partition'), { code: 'NOT_OWNER' });
  },
  hang: () => new Promise(() => {}),
};

async function rejection(promise: Promise<unknown>): Promise<PeerRpcError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PeerRpcError);
  return err as PeerRpcError;
}

describe('PeerRpcClient with PeerRpcServer over the gossip transport', () => {
  it('round-trips params and results, binary values included', async () => {
    const peer = await startPeer(handlers);
    const params = { key: Buffer.from([1, 2, 3, 0, 254]), n: 42, s: 'héllo', list: [true, null] };
    const result = (await client().call(peer.addr, 'echo', params)) as {
      params: typeof params;
      blob: Uint8Array;
    };
    expect(Buffer.from(result.params.key)).toEqual(Buffer.from([1, 2, 3, 0, 254]));
    expect(result.params.n).toBe(42);
    expect(result.params.s).toBe('héllo');
    expect(result.params.list).toEqual([true, null]);
    expect(Buffer.from(result.blob)).toEqual(Buffer.from([0, 255, 1, 128]));
  });

  it('pipelines 1,000 concurrent calls on one connection, each with its own result', async () => {
    const peer = await startPeer(handlers);
    const rpc = client();
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => rpc.call(peer.addr, 'double', i)),
    );
    expect(results).toEqual(Array.from({ length: 1_000 }, (_, i) => i * 2));
    expect(peer.connections.size).toBe(1);
    // The pooled connection is reused by later calls.
    expect(await rpc.call(peer.addr, 'double', 21)).toBe(42);
    expect(peer.connections.size).toBe(1);
  });

  it('connects from the local address it is given, so the peer sees the member address', async () => {
    const peer = await startPeer({ whoAsks: async (_, from) => from.addr });
    expect(
      await client(plain, { localAddress: '127.0.0.9' }).call(peer.addr, 'whoAsks', null),
    ).toBe('127.0.0.9');
    expect(await client().call(peer.addr, 'whoAsks', null)).toBe('127.0.0.1');
  });

  it('rejects an unknown method with PEER_ERROR naming it', async () => {
    const peer = await startPeer(handlers);
    const err = await rejection(client().call(peer.addr, 'nope', {}));
    expect(err.code).toBe('PEER_ERROR');
    expect(err.remoteCode).toBe('UNKNOWN_METHOD');
    expect(err.message).toContain('"nope"');
  });

  it('does not dispatch to Object.prototype members', async () => {
    const peer = await startPeer(handlers);
    const err = await rejection(client().call(peer.addr, 'toString', {}));
    expect(err.remoteCode).toBe('UNKNOWN_METHOD');
  });

  it('turns a throwing handler into PEER_ERROR with its message and code', async () => {
    const peer = await startPeer(handlers);
    const rpc = client();
    const err = await rejection(rpc.call(peer.addr, 'fail', null));
    expect(err.code).toBe('PEER_ERROR');
    expect(err.remoteCode).toBe('HANDLER_FAILED');
    expect(err.message).toContain('boom: disk on fire');
    const coded = await rejection(rpc.call(peer.addr, 'failCoded', null));
    expect(coded.remoteCode).toBe('NOT_OWNER');
    // The connection survives handler errors.
    expect(await rpc.call(peer.addr, 'double', 5)).toBe(10);
    expect(peer.connections.size).toBe(1);
  });

  it('times out a call whose handler never answers, while others on the connection succeed', async () => {
    const peer = await startPeer(handlers, { server: { handlerTimeoutMs: 500 } });
    const rpc = client();
    const before = rpc.call(peer.addr, 'double', 1);
    const hung = rpc.call(peer.addr, 'hang', null, 100);
    const after = Array.from({ length: 10 }, (_, i) => rpc.call(peer.addr, 'double', i));
    const err = await rejection(hung);
    expect(err.code).toBe('PEER_TIMEOUT');
    expect(await before).toBe(2);
    expect(await Promise.all(after)).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(peer.connections.size).toBe(1);
  });

  it('reports PEER_UNREACHABLE for a port with nothing listening', async () => {
    const port = await freePort();
    const err = await rejection(client().call({ addr: '127.0.0.1', port }, 'double', 1));
    expect(err.code).toBe('PEER_UNREACHABLE');
    expect(err.refused).toBe(true);
  });

  it('rejects in-flight calls when the server dies, and reconnects once it is back', async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    const peer = await startPeer({
      ...handlers,
      hang: () => {
        entered();
        return new Promise(() => {});
      },
    });
    const rpc = client();
    const inflight = [
      rpc.call(peer.addr, 'hang', null),
      rpc.call(peer.addr, 'double', 1),
      rpc.call(peer.addr, 'double', 2),
    ].map(rejection);
    await handlerEntered;
    await stopPeer(peer);
    for (const err of await Promise.all(inflight)) {
      expect(err.code).toBe('PEER_UNREACHABLE');
      // Closed under them, not refused: the peer was there.
      expect(err.refused).toBe(false);
    }

    const down = await rejection(rpc.call(peer.addr, 'double', 3));
    expect(down.code).toBe('PEER_UNREACHABLE');

    const back = await startPeer(handlers, { port: peer.addr.port });
    expect(await rpc.call(peer.addr, 'double', 4)).toBe(8);
    expect(back.connections.size).toBe(1);
  });

  it('refuses calls over the in-flight cap with PEER_OVERLOADED at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const peer = await startPeer({
      ...handlers,
      gated: async (params) => {
        await gate;
        return params;
      },
    });
    const rpc = client(plain, { inflightPerPeerMax: 4 });
    const admitted = [1, 2, 3, 4].map((n) => rpc.call(peer.addr, 'gated', n));
    const err = await rejection(rpc.call(peer.addr, 'gated', 5));
    expect(err.code).toBe('PEER_OVERLOADED');
    release();
    expect(await Promise.all(admitted)).toEqual([1, 2, 3, 4]);
    // Room again once the replies are in.
    expect(await rpc.call(peer.addr, 'gated', 6)).toBe(6);
  });

  it('closes an idle connection and opens a new one for the next call', async () => {
    const peer = await startPeer(handlers);
    const rpc = client(plain, { idleCloseMs: 20 });
    expect(await rpc.call(peer.addr, 'double', 1)).toBe(2);
    await vi.waitFor(
      async () => {
        expect(await rpc.call(peer.addr, 'double', 2)).toBe(4);
        expect(peer.connections.size).toBe(2);
      },
      { timeout: 5_000, interval: 100 },
    );
  });

  it('rejects in-flight calls when the client closes', async () => {
    const peer = await startPeer(handlers);
    const rpc = new PeerRpcClient(plain);
    const call = rejection(rpc.call(peer.addr, 'hang', null));
    await rpc.close();
    expect((await call).code).toBe('PEER_UNREACHABLE');
    expect((await rejection(rpc.call(peer.addr, 'double', 1))).code).toBe('PEER_UNREACHABLE');
  });

  it('works with gossip keys on both sides, and fails (not hangs) with different keys', async () => {
    const key = randomBytes(32);
    const sealed = new Envelope(CLUSTER, new Keyring([key]));
    const peer = await startPeer(handlers, { envelope: sealed });
    const same = client(new Envelope(CLUSTER, new Keyring([key])));
    const result = (await same.call(peer.addr, 'echo', Buffer.from('secret'))) as {
      params: Uint8Array;
    };
    expect(Buffer.from(result.params).toString()).toBe('secret');

    const other = client(new Envelope(CLUSTER, new Keyring([randomBytes(32)])));
    expect((await rejection(other.call(peer.addr, 'double', 1))).code).toBe('PEER_UNREACHABLE');
    const unkeyed = client(plain);
    expect((await rejection(unkeyed.call(peer.addr, 'double', 1))).code).toBe('PEER_UNREACHABLE');
    // The keyed client is unaffected.
    expect(await same.call(peer.addr, 'double', 7)).toBe(14);
  });
});

describe('PeerRpcClient against a misbehaving peer', () => {
  it('rejects with PEER_PROTOCOL when the reply is not a valid RPC reply', async () => {
    const replies = [Buffer.from('junk'), packr.pack([1, 2]), packr.pack({ id: 'x' })];
    for (const reply of replies) {
      const raw = createServer((socket) => {
        socket.on('error', () => socket.destroy());
        socket.once('data', () => socket.write(frame(plain.seal(reply))));
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const address = raw.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      try {
        const rpc = client();
        const err = await rejection(rpc.call({ addr: '127.0.0.1', port: address.port }, 'x', 1));
        expect(err.code).toBe('PEER_PROTOCOL');
      } finally {
        raw.close();
      }
    }
  });
});

describe('a stream request to a peer that trickles its reply', () => {
  it('fails at its deadline although bytes keep coming', async () => {
    const trickler = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.write(Buffer.from([0, 0, 16])); // three of a frame header's four bytes
      const drip = setInterval(() => socket.write(Buffer.from([0])), 50);
      socket.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    const address = trickler.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const { transport } = await startPeer({});
    try {
      const to = { addr: '127.0.0.1', port: address.port };
      await expect(
        transport.request(to, StreamChannel.membership, Buffer.from([1]), 300),
      ).rejects.toThrow(/timed out/);
    } finally {
      trickler.close();
    }
  });
});

describe('a stream request the peer has nothing to answer', () => {
  it('fails as closed at once, not at its deadline', async () => {
    // This peer serves the replication channel only, as a node that has left serves no longer
    // membership.
    const server = await startPeer({});
    const { transport } = await startPeer({});
    await expect(
      transport.request(server.addr, StreamChannel.membership, Buffer.from([1]), 60_000),
    ).rejects.toThrow(/closed before a reply/);
  });
});

describe('an inbound connection that trickles its first frame', () => {
  it('is closed at the first-frame deadline, while one that sent a frame stays open', async () => {
    const drops: string[] = [];
    const server = new PeerRpcServer(handlers);
    const port = await freePort();
    const transport = await GossipTransport.listen(
      '127.0.0.1',
      port,
      plain,
      {
        onPacket: () => {},
        onDrop: (reason) => drops.push(reason),
        onStream: async (_channel, from, payload) => server.handleFrame(from, payload),
      },
      { firstFrameTimeoutMs: 300 },
    );
    transports.add(transport);

    const slow = connect({ host: '127.0.0.1', port });
    slow.on('error', () => {});
    // A header declaring 4 KiB, then the body a byte at a time.
    slow.write(Buffer.from([0, 0, 16, 0]));
    const drip = setInterval(() => slow.write(Buffer.from([0])), 50);
    const closed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
    const rpc = client();
    const to = { addr: '127.0.0.1', port };
    expect(await rpc.call(to, 'double', 2)).toBe(4);
    await closed;
    clearInterval(drip);
    expect(drops).toContain('stream_refused');
    // The member's connection outlived the deadline and still answers.
    expect(await rpc.call(to, 'double', 3)).toBe(6);
    expect(drops.filter((d) => d === 'stream_refused')).toHaveLength(1);
  });
});

describe('a peer that stops reading', () => {
  const MIB = 1024 * 1024;

  /** Request frames for `big`, ids from `first`, as one buffer: they arrive together. */
  function bigRequests(first: number, count: number): Buffer {
    const frames = Array.from({ length: count }, (_, i) => {
      const body = packr.pack({ id: first + i, method: 'big', params: null });
      return frame(plain.seal(Buffer.concat([Buffer.from([StreamChannel.replication]), body])));
    });
    return Buffer.concat(frames);
  }

  async function peerOfBigReplies(): Promise<{ peer: Peer; answered: () => number }> {
    let answered = 0;
    const peer = await startPeer({
      big: async () => {
        answered++;
        return Buffer.alloc(MIB);
      },
    });
    return { peer, answered: () => answered };
  }

  it('takes up no new requests while its replies pile up, and answers them once it reads', async () => {
    const { peer, answered } = await peerOfBigReplies();
    const socket = connect(peer.addr.port, '127.0.0.1');
    socket.pause();
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // 40 MiB of replies: more than both sockets' buffers take, well past the 16 MiB bound.
    socket.write(bigRequests(1, 40));
    await vi.waitFor(() => expect(answered()).toBe(40), { timeout: 10_000 });
    socket.write(bigRequests(41, 60));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered()).toBe(40);

    const decoder = new FrameDecoder();
    let replies = 0;
    socket.on('data', (chunk: Buffer) => (replies += decoder.push(chunk).length));
    socket.resume();
    await vi.waitFor(() => expect(replies).toBe(100), { timeout: 10_000 });
    expect(answered()).toBe(100);
    socket.destroy();
  });

  it('closes a connection that sent many requests at once and reads none of the replies', async () => {
    const { peer, answered } = await peerOfBigReplies();
    const socket = connect(peer.addr.port, '127.0.0.1');
    socket.pause();
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const requests = 150;
    socket.write(bigRequests(1, requests));
    // All arrived before any reply was written, so all are answered; not all are kept.
    await vi.waitFor(() => expect(answered()).toBe(requests), { timeout: 10_000 });
    const decoder = new FrameDecoder();
    let replies = 0;
    socket.on('data', (chunk: Buffer) => (replies += decoder.push(chunk).length));
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.resume();
    await vi.waitFor(() => expect(closed).toBe(true), { timeout: 10_000 });
    expect(replies).toBeLessThan(requests);
  });

  it('gets no more requests queued for it than a bound: further calls are refused as overloaded', async () => {
    const silent = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.pause();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const rpc = client();
      const to = { addr: '127.0.0.1', port: address.port };
      const outcomes: string[] = [];
      for (let i = 0; i < 100; i++) {
        // Each call times out, which frees its place in flight but not its bytes in the socket.
        const err = await rejection(rpc.call(to, 'store', Buffer.alloc(MIB), 20));
        outcomes.push(err.code);
      }
      expect(outcomes).toContain('PEER_OVERLOADED');
      expect(outcomes.filter((code) => code === 'PEER_TIMEOUT').length).toBeLessThan(60);
    } finally {
      silent.close();
    }
  });
});

describe('PeerRpcServer.handleFrame', () => {
  const from = { addr: '127.0.0.1', port: 1 };
  const server = new PeerRpcServer(handlers);
  const decode = (bytes: Uint8Array) =>
    packr.unpack(bytes) as { id: unknown; result?: unknown; error?: { code: string } };

  it('answers undecodable bytes with a PEER_PROTOCOL error reply instead of throwing', async () => {
    for (const garbage of [
      new Uint8Array(0),
      Buffer.from([0xc1]),
      Buffer.from('not msgpack at all'),
      randomBytes(64),
    ]) {
      const reply = decode(await server.handleFrame(from, garbage));
      expect(reply.error?.code).toBe('PEER_PROTOCOL');
    }
  });

  it('answers a request without id or method with PEER_PROTOCOL', async () => {
    const noId = decode(await server.handleFrame(from, packr.pack({ method: 'double' })));
    expect(noId).toMatchObject({ id: null, error: { code: 'PEER_PROTOCOL' } });
    const noMethod = decode(await server.handleFrame(from, packr.pack({ id: 9, params: 1 })));
    expect(noMethod).toMatchObject({ id: 9, error: { code: 'PEER_PROTOCOL' } });
  });

  it('answers a well-formed request with its id and result', async () => {
    const reply = decode(
      await server.handleFrame(from, packr.pack({ id: 7, method: 'double', params: 4 })),
    );
    expect(reply).toEqual({ id: 7, result: 8 });
  });

  it('catches a handler that throws synchronously', async () => {
    const sync = new PeerRpcServer({
      bad: () => {
        throw new Error('sync failure');
      },
    });
    const reply = decode(await sync.handleFrame(from, packr.pack({ id: 1, method: 'bad' })));
    expect(reply).toMatchObject({ id: 1, error: { code: 'HANDLER_FAILED' } });
  });
});
