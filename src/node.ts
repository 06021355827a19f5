// ShoalNode builds the parts of one node and owns its life: start -> drain -> stop.

import { createServer, type Server } from 'node:http';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app.js';
import { clusterRoutes } from './api/cluster-routes.js';
import { compatRoutes } from './api/compat-routes.js';
import { kvRoutes } from './api/kv-routes.js';
import { opsRoutes } from './api/ops-routes.js';
import { partitionRoutes } from './api/partition-routes.js';
import { ConfigError, connectionSource, type Config } from './config.js';
import { Membership } from './cluster/membership.js';
import { Coordinator } from './replication/coordinator.js';
import { PeerRpcClient, PeerRpcServer } from './replication/peer-rpc.js';
import { StreamChannel } from './cluster/io/gossip-transport.js';
import {
  antiEntropyMetrics,
  hintMetrics,
  replicationMetrics,
} from './observability/replication-metrics.js';
import { AntiEntropy } from './replication/anti-entropy.js';
import { HintStore } from './replication/hint-store.js';
import { HintedHandoff } from './replication/hinted-handoff.js';
import { refusingHandlers, refusingKv } from './replication/outvoted-guard.js';
import { SettingsAgreement } from './replication/settings-agreement.js';
import { freshnessWindowMs, SEALED_FRESHNESS_MS } from './cluster/envelope.js';
import { LEFT_HOLDER_MS, RecentDepartures } from './replication/recent-departures.js';
import { TombstonePolicy } from './replication/tombstone-policy.js';
import { observeMembership } from './observability/cluster-observer.js';
import type { Logger } from './observability/logger.js';
import { NodeMetrics } from './observability/metrics.js';
import { Partitioner } from './replication/partitioner.js';
import { backgroundErrors } from './observability/background-errors.js';
import { HybridLogicalClock } from './store/hlc.js';
import { LmdbStore } from './store/lmdb-store.js';

/** How long in-flight requests may take to finish once the node drains. */
export const DRAIN_REQUESTS_MS_MAX = 5_000;
/** Time the hand-off of partitions and hints may take once the node drains. */
export const HAND_OFF_MS_MAX = 30_000;
/** Keep-alive idle timeout: shorter than common client pools' so the server closes first, cleanly. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export class ShoalNode {
  private draining = false;
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    private readonly logger: Logger,
    private readonly store: LmdbStore,
    private readonly membership: Membership,
    private readonly antiEntropy: AntiEntropy,
    private readonly hints: HintStore,
    private readonly handoff: HintedHandoff,
    private readonly server: Server,
    readonly metrics: NodeMetrics,
  ) {}

  static async start(config: Config, logger: Logger): Promise<ShoalNode> {
    prepareDataDir(config.dataDir);
    const store = await LmdbStore.open(config.dataDir, config.partitions, {
      forgetHandedOffAfterMs: config.tombstoneGraceMs,
    });
    if (store.forgotten !== undefined) {
      logger.warn(
        {
          records: store.forgotten.records,
          handedOffAt: new Date(store.forgotten.handedOffAtMs).toISOString(),
        },
        'starting empty: this node handed its data off longer ago than the tombstone grace ' +
          'period, and deletes made since may have been forgotten; the cluster holds the rest',
      );
    }
    const window = freshnessWindowMs(config.tombstoneGraceMs);
    if (config.gossipKeys.length > 0 && window < SEALED_FRESHNESS_MS) {
      logger.warn(
        { windowMs: window },
        'sealed peer packets older than the tombstone grace period are dropped as replays: with a ' +
          'grace period this short, clock skew or a busy peer can make packets miss the window',
      );
    }
    const metrics = new NodeMetrics(() => store.liveKeyCount(Date.now()));
    let hints: HintStore;
    let membership: Membership;
    try {
      // The gauge reads the hint store at scrape time, by then long opened.
      hints = HintStore.open(
        config.dataDir,
        hintMetrics(metrics.registry, () => hints.pending),
      );
    } catch (err) {
      await store.close();
      throw err;
    }
    try {
      membership = await Membership.start(config, config.httpPort);
    } catch (err) {
      await hints.close();
      await store.close();
      throw err;
    }
    observeMembership(membership, logger, metrics.registry);
    const ours = { partitions: config.partitions, replicationFactor: config.replicationFactor };
    const agreement = new SettingsAgreement(config.nodeName, ours, (member, theirs, difference) => {
      const fields = { member: member.name, theirs, ours };
      if (difference === 'partitions') {
        logger.error(
          fields,
          'member has another partition count: give every node the same SHOAL_PARTITIONS',
        );
      } else {
        logger.warn(
          fields,
          'member has another replication factor (expected only while it is being changed)',
        );
      }
    });
    // Events come in batches (a push-pull can bring every member at once): one review per batch,
    // not one per event, each of which looks over every member.
    let reviewQueued = false;
    membership.on('member', () => {
      if (reviewQueued) return;
      reviewQueued = true;
      queueMicrotask(() => {
        reviewQueued = false;
        agreement.review(membership.members());
      });
    });
    agreement.review(membership.members());
    const partitioner = new Partitioner(config.partitions, config.replicationFactor);
    const rpc = new PeerRpcClient(membership.peerEnvelope, {
      localAddress: connectionSource(config.bindAddr),
    });
    const departures = new RecentDepartures(membership);
    // A leaver's window starts when it leaves, not when a request next needs to know.
    membership.on('member', () => departures.update());
    const tombstones = new TombstonePolicy(config.tombstoneGraceMs, membership, departures);
    const kv = new Coordinator({
      store,
      clock: new HybridLogicalClock(config.nodeName, Date.now, undefined, store.clockReservation()),
      cluster: membership,
      partitioner,
      rpc,
      observer: replicationMetrics(metrics.registry),
      hints,
      tombstones,
      departures,
    });
    const handoff = new HintedHandoff(hints, membership, rpc, Date.now, tombstones.hintWindowMs);
    const antiEntropy = new AntiEntropy(
      store,
      membership,
      partitioner,
      rpc,
      tombstones,
      antiEntropyMetrics(metrics.registry),
    );
    const refusal = (): string | undefined => agreement.refusal();
    // A node that left still answers reads while it hands off, but takes no more writes: it may
    // have handed their partition over already, and a coordinator that has not yet heard of the
    // leave would count its copy.
    const peerRefusal = (method: string): string | undefined =>
      method === 'applyBatch' && membership.hasLeft ? 'this node has left the cluster' : refusal();
    const rpcServer = new PeerRpcServer(
      refusingHandlers({ ...kv.handlers(), ...antiEntropy.handlers() }, peerRefusal),
    );
    const clientKv = refusingKv(kv, refusal);
    membership.serveChannel(StreamChannel.replication, (from, payload) =>
      rpcServer.handleFrame(from, payload),
    );
    const failed = backgroundErrors(metrics.registry, logger);

    // Routes are built before the node object exists; readiness asks the node once it does.
    const started: { node?: ShoalNode } = {};
    const readiness = {
      notReadyReasons: () => [
        ...(started.node?.notReadyReasons() ?? ['starting']),
        ...(agreement.outvoted ? ['settings_differ'] : []),
      ],
    };
    const app = createApp(
      [
        { prefix: '/v1/kv', add: (router) => kvRoutes(router, clientKv, config) },
        { prefix: '', add: (router) => compatRoutes(router, clientKv, config) },
        { prefix: '', add: (router) => clusterRoutes(router, membership) },
        {
          prefix: '',
          add: (router) => partitionRoutes(router, membership, store, partitioner),
        },
        { prefix: '', add: (router) => opsRoutes(router, readiness, metrics.registry) },
      ],
      metrics,
      logger,
    );
    const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, app.callback());
    const node = new ShoalNode(
      config,
      logger,
      store,
      membership,
      antiEntropy,
      hints,
      handoff,
      server,
      metrics,
    );
    started.node = node;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.httpPort, config.bindAddr, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await membership.stop();
      await hints.close();
      await store.close();
      throw err;
    }
    // While outvoted on its partition count this node has nobody to compare with: the others
    // file keys otherwise, and any that share its count refuse data requests as it does.
    antiEntropy.start(failed('anti-entropy'), () => agreement.outvoted);
    handoff.start(failed('hint-delivery'));
    logger.info(
      {
        httpPort: node.httpPort,
        bindAddr: config.bindAddr,
        dataDir: config.dataDir,
        keys: store.liveKeyCount(Date.now()),
      },
      'shoal node started',
    );
    return node;
  }

  get httpPort(): number {
    return (this.server.address() as AddressInfo).port;
  }

  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.draining) reasons.push('draining');
    if (!this.store.isOpen) reasons.push('store_closed');
    if (!this.membership.joined) reasons.push('joining');
    return reasons;
  }

  /**
   * Graceful stop: readiness fails at once; the leave is gossiped (members mark this node left,
   * not dead, and route around it); in-flight requests get up to DRAIN_REQUESTS_MS_MAX to finish;
   * then every partition this node holds is pushed to the owners that replace it and waiting
   * hints are delivered, within HAND_OFF_MS_MAX; then the store is flushed and closed. All of it
   * fits the chart's 60 s grace period.
   */
  stop(): Promise<void> {
    this.stopped ??= this.drainAndClose();
    return this.stopped;
  }

  private async drainAndClose(): Promise<void> {
    this.draining = true;
    // The others ask this node for what it holds, and hold their purges, for LEFT_HOLDER_MS after
    // they see it leave, which is after this: the hand-off must be over by then.
    const leaveEndsMs = Date.now() + LEFT_HOLDER_MS;
    this.logger.info('draining: not ready, telling the cluster we leave');
    try {
      await this.membership.leave();
      this.logger.info('left the cluster; finishing in-flight requests');
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) =>
        setTimeout(resolve, DRAIN_REQUESTS_MS_MAX).unref(),
      );
      await Promise.race([closed, deadline]);
      this.server.closeAllConnections();
      await this.antiEntropy.stop();
      await this.handoff.stop();
      await this.handOff(leaveEndsMs);
    } finally {
      // The peer port stays open through the hand-off (reads of what this node holds), and must
      // close whatever happened, or the process would not exit.
      await this.membership.stop();
    }
    await this.hints.close();
    await this.store.close();
    this.logger.info('shoal node stopped');
  }

  /**
   * Gives what this node holds to the members that take over from it, within HAND_OFF_MS_MAX
   * and by `endsByMs`; logs what it did.
   */
  private async handOff(endsByMs: number): Promise<void> {
    const startedMs = Date.now();
    const deadlineMs = Math.min(startedMs + HAND_OFF_MS_MAX, endsByMs);
    // Each part on its own: a failing partition hand-off must not keep the hints from leaving.
    // What fails is not lost: the other replicas still hold every acknowledged write, and
    // anti-entropy fills the new owners.
    const records = await this.antiEntropy.handOff(deadlineMs).catch((err: unknown) => {
      this.logger.warn({ err }, 'partition hand-off incomplete');
      return undefined;
    });
    // Everything is on the members that replace this one: should this node come back after the
    // grace period, it starts empty rather than spread values whose deletes were forgotten.
    if (records?.complete === true) {
      await this.store.markHandedOff(Date.now()).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not note the completed hand-off');
      });
    }
    const hints = await this.handoff.deliver(deadlineMs).catch((err: unknown) => {
      this.logger.warn({ err }, 'hint hand-off incomplete');
      return undefined;
    });
    this.logger.info(
      {
        records: records?.pushed,
        complete: records?.complete ?? false,
        hints,
        hintsLeft: this.hints.pending,
        ms: Date.now() - startedMs,
      },
      'handed off partitions and hints',
    );
  }
}

/** Creates the data directory if needed; a path that cannot hold it is a configuration error. */
function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'not a directory' : (err as Error).message;
    throw new ConfigError('SHOAL_DATA_DIR', `cannot use ${dir} as the data directory: ${reason}`);
  }
}
