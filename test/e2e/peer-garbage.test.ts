// Bad input from the network side: random datagrams and streams at the gossip port, a cluster
// label of another cluster, and a stream frame that claims to be huge. The node must count and
// drop them and keep serving.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShoal, type ShoalProcess } from '../support/shoal-process.js';

let node: ShoalProcess;

beforeAll(async () => {
  node = await startShoal();
});

afterAll(async () => {
  await node?.stop();
});

function sendDatagrams(packets: Buffer[]): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    let pending = packets.length;
    for (const packet of packets) {
      socket.send(packet, node.gossipPort, node.host, () => {
        if (--pending === 0) {
          socket.close();
          resolve();
        }
      });
    }
  });
}

function sendStream(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: node.host, port: node.gossipPort }, () => socket.end(bytes));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

function label(name: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([244, Buffer.byteLength(name)]), Buffer.from(name), payload]);
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

describe('garbage at the gossip port', () => {
  it('counts and drops it, and the node keeps serving', async () => {
    const random = Array.from({ length: 300 }, (_, i) => randomBytes(1 + (i % 1400)));
    const ours = Array.from({ length: 200 }, (_, i) => label('shoal', randomBytes(1 + (i % 600))));
    const theirs = Array.from({ length: 50 }, () => label('other-cluster', randomBytes(40)));
    await sendDatagrams([...random, ...ours, ...theirs]);

    const hugeFrame = Buffer.alloc(8);
    hugeFrame.writeUInt32BE(0xffff_fff0, 0);
    await Promise.all([
      sendStream(hugeFrame),
      sendStream(randomBytes(5_000)),
      sendStream(Buffer.concat([Buffer.from([0, 0, 0, 10]), label('shoal', randomBytes(8))])),
    ]);

    // Every kind of drop shows up in the metrics once the datagrams are processed.
    const deadline = Date.now() + 10_000;
    let mismatched = 0;
    while (Date.now() < deadline) {
      mismatched = await metric(
        /shoal_gossip_packets_dropped_total\{reason="label_mismatch"\} (\d+)/,
      );
      if (mismatched >= 50) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(mismatched).toBeGreaterThanOrEqual(50);
    expect(
      await metric(/shoal_gossip_packets_dropped_total\{reason="stream_malformed"\} (\d+)/),
    ).toBeGreaterThan(0);

    const health = await fetch(`${node.url}/healthz`);
    expect(health.status).toBe(200);
    const members = (await (await fetch(`${node.url}/v1/cluster/members`)).json()) as {
      members: { name: string; state: string }[];
    };
    expect(members.members).toEqual([
      expect.objectContaining({ name: node.nodeName, state: 'alive' }),
    ]);
    const put = await fetch(`${node.url}/v1/kv/still-here`, { method: 'PUT', body: 'yes' });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${node.url}/v1/kv/still-here`)).text()).toBe('yes');
  });
});
