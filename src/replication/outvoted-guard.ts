// What a node does while its partition count is the odd one out (settings-agreement.ts): it files
// keys under other partitions than everyone else, so nothing it answers about data can be
// trusted. Readiness already keeps a Service's clients away; this refuses the requests that come
// anyway.
// - Clients (through port-forward, or a pod address) get 503 NOT_READY with the reason.
// - Peers get an error for every data request. A coordinator then counts this node as a replica
//   that did not answer, so its writes reach quorum on the others and a hint keeps them for this
//   node's name; anti-entropy and hint delivery to it fail, and are counted as failures on the
//   nodes that try, where shoal_background_errors_total shows them.
// Its own anti-entropy and hint delivery go on: they are how the writes it acknowledged before it
// was outvoted reach the others, which take records by key and hand them to their owners.

import { ShoalError } from '../errors.js';
import type { KvService } from '../kv/kv-service.js';
import type { PeerRpcHandler } from './peer-rpc.js';

/** Returns why this node must not serve data now, or undefined when it may. */
export type Refusal = () => string | undefined;

function check(refusal: Refusal): void {
  const reason = refusal();
  if (reason !== undefined) throw new ShoalError('NOT_READY', reason);
}

/** The key-value service, answering NOT_READY while `refusal` gives a reason. */
export function refusingKv(kv: KvService, refusal: Refusal): KvService {
  return {
    get: async (key, consistency) => {
      check(refusal);
      return kv.get(key, consistency);
    },
    put: async (request) => {
      check(refusal);
      return kv.put(request);
    },
    delete: async (key, consistency) => {
      check(refusal);
      return kv.delete(key, consistency);
    },
    list: async (request) => {
      check(refusal);
      return kv.list(request);
    },
  };
}

/** The peer RPC handlers, each failing while `refusal` gives a reason. */
export function refusingHandlers(
  handlers: Record<string, PeerRpcHandler>,
  refusal: Refusal,
): Record<string, PeerRpcHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      async (params: unknown, from) => {
        check(refusal);
        return handler(params, from);
      },
    ]),
  );
}
