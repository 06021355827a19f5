// A few real nodes on loopback IPs that find each other through SHOAL_JOIN (every address
// listed), for cluster tests that need no DNS server. Each node keeps its data directory across
// restarts.

import { memberStates, waitUntil } from '../e2e/helpers.js';
import { makeTempDir, startShoal, type ShoalProcess } from './shoal-process.js';

const HTTP_PORT = 18_080;
const GOSSIP_PORT = 17_946;

export class StaticCluster {
  private readonly running: (ShoalProcess | undefined)[] = [];
  private readonly dataDirs: string[];

  constructor(
    private readonly ips: readonly string[],
    private readonly names: readonly string[],
    private readonly env: Record<string, string>,
    dirPrefix: string,
    /** Settings of node `i` beyond `env`, for a test that needs one node unlike the others. */
    private readonly envOf: (i: number) => Record<string, string> = () => ({}),
  ) {
    this.dataDirs = names.map(() => makeTempDir(dirPrefix));
  }

  /** Starts node `i` (again, on its data directory) and waits until it is ready. */
  async start(i: number): Promise<ShoalProcess> {
    const started = await startShoal({
      host: this.ips[i],
      httpPort: HTTP_PORT,
      gossipPort: GOSSIP_PORT,
      nodeName: this.names[i],
      dataDir: this.dataDirs[i],
      readyTimeoutMs: 30_000,
      env: {
        SHOAL_JOIN: this.ips.map((ip) => `${ip}:${GOSSIP_PORT}`).join(','),
        SHOAL_LOG_LEVEL: 'warn',
        ...this.env,
        ...this.envOf(i),
      },
    });
    this.running[i] = started;
    return started;
  }

  startAll(): Promise<ShoalProcess[]> {
    return Promise.all(this.ips.map((_, i) => this.start(i)));
  }

  node(i: number): ShoalProcess {
    const found = this.running[i];
    if (found === undefined) throw new Error(`node ${i} is not running`);
    return found;
  }

  /** Waits until every running node sees every node of the cluster alive. */
  async waitUntilAllAlive(): Promise<void> {
    await waitUntil(`all ${this.names.length} members alive on every node`, async () => {
      for (const node of this.running) {
        if (node === undefined) continue;
        const alive = (await memberStates(node.url)).filter((m) => m.state === 'alive');
        if (alive.length !== this.names.length) return false;
      }
      return true;
    });
  }

  /** Forgets node `i` once it has exited (killed or stopped by the test). */
  exited(i: number): void {
    this.running[i] = undefined;
  }

  /** Nothing is checked about this shutdown; kill -9 keeps it short whatever state nodes are in. */
  async killAll(): Promise<void> {
    await Promise.all(
      this.running.map(async (n) => {
        n?.signal('SIGKILL');
        await n?.waitForExit().catch(() => undefined);
      }),
    );
  }
}
