// Building blocks shared by the simulation tests: forming a cluster the way a StatefulSet does
// (a few seeds first, everyone else joining through them), and recording what members declare.

import type { SwimConfig } from '../../src/cluster/swim/config.js';
import { SimCluster } from './cluster.js';
import type { NetworkOptions } from './network.js';

export interface FormOptions {
  seed: number;
  size: number;
  network?: Partial<NetworkOptions>;
  config?: Partial<SwimConfig>;
  /** Members start at random times within this window, ms. */
  startWindowMs?: number;
  /** Give up on convergence after this much simulated time, ms. */
  convergeWithinMs?: number;
}

export const SEED_COUNT = 3;

export function nodeName(i: number): string {
  return `shoal-${i}`;
}

/** A converged cluster of `size` members named shoal-0.., formed by joins through 3 seeds. */
export function formCluster(options: FormOptions): SimCluster {
  const cluster = new SimCluster({
    seed: options.seed,
    network: options.network ?? {},
    config: options.config ?? {},
  });
  const names = Array.from({ length: options.size }, (_, i) => nodeName(i));
  for (const name of names) cluster.addNode(name);
  const seeds = names.slice(0, SEED_COUNT);
  const windowMs = options.startWindowMs ?? 2_000;
  cluster.start(names[0] as string);
  for (const name of names.slice(1)) {
    cluster.start(name, seeds, cluster.network.pick(windowMs) + 1);
  }
  cluster.runFor(windowMs + 1);
  const took = cluster.runUntil(() => cluster.converged(), options.convergeWithinMs ?? 60_000, 500);
  if (took === undefined) {
    throw new Error(`cluster of ${options.size} did not converge: ${cluster.describeDivergence()}`);
  }
  return cluster;
}

/** Every dead/left/suspect declaration about each member, by observer, as they happen. */
export class Declarations {
  readonly dead = new Map<string, Set<string>>();
  readonly left = new Map<string, Set<string>>();
  readonly suspect = new Map<string, Set<string>>();
  firstSuspectMs = new Map<string, number>();

  constructor(cluster: SimCluster) {
    cluster.onEvent((observer, event, nowMs) => {
      if (event.type !== 'dead' && event.type !== 'left' && event.type !== 'suspect') return;
      const subject = event.member.name;
      const map = this[event.type];
      let set = map.get(subject);
      if (set === undefined) map.set(subject, (set = new Set()));
      set.add(observer);
      if (event.type === 'suspect' && !this.firstSuspectMs.has(subject)) {
        this.firstSuspectMs.set(subject, nowMs);
      }
    });
  }

  deadCount(subject?: string): number {
    if (subject !== undefined) return this.dead.get(subject)?.size ?? 0;
    let n = 0;
    for (const set of this.dead.values()) n += set.size;
    return n;
  }
}
