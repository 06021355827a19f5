// What a node does while its partition count is the odd one out (settings-agreement.ts). It files
// keys under other partitions than everyone else, and the only fix, a restart with the right
// count, needs a new data directory (the old one keeps the count it was created with): whatever
// it holds now will be gone. So it must not count as a copy of anything. Readiness already keeps
// a Service's clients away; this refuses the data requests that come anyway.
// - Clients (through port-forward, or a pod address) get 503 NOT_READY with the reason.
// - Peers get an error for every data request. A coordinator then counts this node as a replica
//   that did not answer: its writes reach quorum on the others (with replication factor 3, not
//   while one of those is down too), and a hint keeps each write for this node's name, for the
//   hint window. Hint deliveries to it fail, and are counted on the nodes that try, where
//   shoal_background_errors_total shows them. Anti-entropy leaves it out (anti-entropy.ts).
// Its own anti-entropy pauses: the others' partitions are not its, and any member that shares its
// count refuses data requests as it does. Its hint delivery goes on. A write it coordinated at
// quorum before it was outvoted also reached another member, which hands it to the key's owners;
// one written with consistency=one may stay on it alone.

import { ShoalError } from '../errors.js';
import type { KvService } from '../kv/kv-service.js';
import type { PeerRpcHandler } from './peer-rpc.js';

/** Returns why this node must not serve data now, or undefined when it may. */
type Refusal = () => string | undefined;

/**
 * Runs `serve` unless `refusal` gives a reason, in which case the answer is NOT_READY. Not an
 * async wrapper: it hands back `serve`'s own promise, adding no promise to the request path.
 */
function unlessRefused<T>(refusal: Refusal, serve: () => Promise<T>): Promise<T> {
  const reason = refusal();
  return reason === undefined ? serve() : Promise.reject(new ShoalError('NOT_READY', reason));
}

/** The key-value service, answering NOT_READY while `refusal` gives a reason. */
export function refusingKv(kv: KvService, refusal: Refusal): KvService {
  return {
    get: (key, consistency) => unlessRefused(refusal, () => kv.get(key, consistency)),
    put: (request) => unlessRefused(refusal, () => kv.put(request)),
    delete: (key, consistency) => unlessRefused(refusal, () => kv.delete(key, consistency)),
    list: (request) => unlessRefused(refusal, () => kv.list(request)),
  };
}

/** The peer RPC handlers, each failing while `refusal` gives a reason for its method. */
export function refusingHandlers(
  handlers: Record<string, PeerRpcHandler>,
  refusal: (method: string) => string | undefined,
): Record<string, PeerRpcHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      (params: unknown, from) =>
        unlessRefused(
          () => refusal(method),
          () => handler(params, from),
        ),
    ]),
  );
}
