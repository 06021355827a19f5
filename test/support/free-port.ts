// Free ports for test processes: bind port 0, read the port the kernel picked, close.
// With `udp: true` the same number must also be free for UDP (gossip uses both on one port).

import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createServer } from 'node:net';

const ATTEMPTS_MAX = 20;

function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`cannot read the port bound on ${host}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** A TCP port (and, with `udp`, the same UDP port) that nothing on `host` listens on now. */
export async function freePort(
  host = '127.0.0.1',
  options: { udp?: boolean } = {},
): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const port = await freeTcpPort(host);
    if (!options.udp || (await udpPortFree(host, port))) return port;
  }
  throw new Error(`no port free for both TCP and UDP on ${host} after ${ATTEMPTS_MAX} tries`);
}
