// Writes to a TCP socket that happen in the same tick leave in one syscall (one writev, not one
// write each): the first write of a tick corks the socket, and the next tick uncorks it. Peer
// requests and peer replies both come in bursts of small frames, where this pays.

import type { Socket } from 'node:net';

const corked = new WeakSet<Socket>();

export function writeCorked(socket: Socket, bytes: Uint8Array): void {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  socket.write(bytes);
}
