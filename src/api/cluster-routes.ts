// Cluster membership over HTTP: the member list, and removing a dead member for good.

import type Router from '@koa/router';
import type { ClusterView } from '../cluster/cluster-view.js';
import { ShoalError } from '../errors.js';

export function clusterRoutes(router: Router, cluster: ClusterView): void {
  router.get('/v1/cluster/members', (ctx) => {
    ctx.body = {
      self: cluster.selfName,
      members: cluster.members().map((m) => ({
        name: m.name,
        addr: m.addr,
        gossip_port: m.gossipPort,
        http_port: m.httpPort,
        state: m.state,
        incarnation: m.incarnation,
      })),
    };
  });

  router.delete('/v1/cluster/members/{*name}', (ctx) => {
    let name: string;
    try {
      name = decodeURIComponent(ctx.path.slice('/v1/cluster/members/'.length));
    } catch {
      throw new ShoalError('BAD_QUERY', 'the member name is not valid percent-encoded UTF-8');
    }
    const outcome = cluster.forceRemove(name);
    if (outcome === 'unknown')
      throw new ShoalError('NOT_FOUND', `no member named ${JSON.stringify(name)}`);
    if (outcome === 'alive') {
      throw new ShoalError(
        'CONFLICT',
        `member ${JSON.stringify(name)} is alive; only dead or left members can be removed`,
      );
    }
    ctx.body = { removed: name };
  });
}
