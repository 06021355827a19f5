// Partitions over HTTP: the cluster's layout (which members hold each partition, in preference
// order) and, with `?local=true`, what this node holds of each partition (key count and digest),
// so an operator or a script can compare replicas without reading any keys.

import type Router from '@koa/router';
import type { ClusterView } from '../cluster/cluster-view.js';
import { ShoalError } from '../errors.js';
import { layoutMembers, type Partitioner } from '../replication/partitioner.js';
import type { Store } from '../store/store.js';
import { single } from './params.js';

export function partitionRoutes(
  router: Router,
  cluster: ClusterView,
  store: Pick<Store, 'partitionSummaries'>,
  partitioner: Partitioner,
): void {
  router.get('/v1/cluster/partitions', (ctx) => {
    if (parseLocal(single(ctx.query, 'local'))) {
      ctx.body = {
        node: cluster.selfName,
        partitions: store
          .partitionSummaries()
          .map((s) => ({ id: s.partition, keys: s.keys, digest: s.digest })),
      };
      return;
    }
    const layout = partitioner.layout(layoutMembers(cluster.members()));
    ctx.body = {
      partitions: Array.from({ length: layout.partitions }, (_, id) => ({
        id,
        replicas: layout.replicasOf(id),
      })),
    };
  });
}

function parseLocal(text: string | undefined): boolean {
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new ShoalError('BAD_QUERY', 'local must be true or false');
}
