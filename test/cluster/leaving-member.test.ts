// A node on its way out: once its leave has spread, the others no longer count it as a replica,
// but it still holds its partitions until its hand-off ends. Until then it answers peers' reads
// of what it holds, and refuses their writes (it may have handed the partition over already).
// Two real processes; this test speaks to the leaver's peer port as a member would. A request
// whose body never finishes holds the leaver in its drain for a few seconds, to look at it there.

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Envelope } from '../../src/cluster/envelope.js';
import { NOTHING_HELD } from '../../src/replication/coordinator.js';
import { PeerRpcClient, isPeerRpcError } from '../../src/replication/peer-rpc.js';
import { fromWire, type WireRecord } from '../../src/replication/wire-record.js';
import { waitFor } from '../e2e/helpers.js';
import type { ShoalProcess } from '../support/shoal-process.js';
import { StaticCluster } from '../support/static-cluster.js';

const GOSSIP_PORT = 17_946;
const IPS = ['127.0.0.101', '127.0.0.102'];
const cluster = new StaticCluster(IPS, ['leaving-0', 'leaving-1'], {}, 'shoal-leaving-');
const LEAVER = 0;
const leaver = { addr: IPS[LEAVER] as string, port: GOSSIP_PORT };
const rpc = new PeerRpcClient(new Envelope('shoal', undefined));

/** An HTTP request to the node whose body never finishes: the node waits for it while draining. */
function unfinishedRequest(node: ShoalProcess): Promise<Socket> {
  const { hostname, port } = new URL(node.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(
        'PUT /v1/kv/unfinished HTTP/1.1\r\nHost: shoal\r\nContent-Length: 100\r\n\r\nab',
      );
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  await cluster.startAll();
}, 60_000);

afterAll(async () => {
  await rpc.close();
  await cluster.killAll();
});

describe('a member that has left and is handing off', () => {
  it('answers reads of what it holds and refuses writes until it exits', async () => {
    const put = await fetch(`${cluster.node(LEAVER).url}/v1/kv/kept?consistency=all`, {
      method: 'PUT',
      body: 'value before the leave',
    });
    expect(put.status).toBe(200);
    const unfinished = await unfinishedRequest(cluster.node(LEAVER));
    cluster.node(LEAVER).signal('SIGTERM');

    const refusal = await waitFor('the leaver to refuse writes as a member that left', async () => {
      try {
        await rpc.call(leaver, 'applyBatch', { items: [] }, 1_000);
        return undefined;
      } catch (err) {
        return isPeerRpcError(err) && err.remoteCode === 'NOT_READY' ? err.message : undefined;
      }
    });
    expect(refusal).toMatch(/left the cluster/);
    const [held] = (await rpc.call(leaver, 'getHeldBatch', { items: ['kept'] })) as unknown[];
    expect(held).not.toBe(NOTHING_HELD);
    expect(fromWire(held as WireRecord).value.toString()).toBe('value before the leave');

    unfinished.destroy();
    expect(await cluster.node(LEAVER).waitForExit()).toMatchObject({ code: 0 });
    cluster.exited(LEAVER);
  }, 60_000);
});
