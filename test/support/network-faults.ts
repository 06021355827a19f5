// Network faults between nodes on loopback addresses, made with iptables as a broken network
// between pods would be: a partition drops every packet between two sides, a one-way cut only
// those from one side to the other, a lossy link a share of them at random, for UDP gossip and
// TCP connections alike. Clients
// (which connect from 127.0.0.1) still reach every node. The rules live in a chain of their own,
// jumped to from INPUT, so healing and cleanup touch nothing else on the machine. Needs root, as
// the tests here run.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function iptables(...args: string[]): Promise<void> {
  // -w waits for the xtables lock instead of failing when another iptables runs.
  try {
    await run('iptables', ['-w', ...args]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `iptables ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`,
    );
  }
}

const CHAIN_PREFIX = 'SHOAL-FAULTS-';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class NetworkFaults {
  private constructor(private readonly chain: string) {}

  static async create(): Promise<NetworkFaults> {
    await NetworkFaults.removeAbandoned();
    const chain = `${CHAIN_PREFIX}${process.pid}`;
    await iptables('-N', chain);
    await iptables('-I', 'INPUT', '-j', chain);
    return new NetworkFaults(chain);
  }

  /**
   * Removes the chains of test runs that ended without cleaning up (killed mid-fault): their
   * rules would still cut the network between the addresses the next run uses.
   */
  private static async removeAbandoned(): Promise<void> {
    const { stdout } = await run('iptables', ['-w', '-S']);
    for (const match of stdout.matchAll(new RegExp(`^-N (${CHAIN_PREFIX}(\\d+))$`, 'gm'))) {
      if (isRunning(Number(match[2]))) continue;
      const chain = match[1] as string;
      // The jump may be missing (a run killed while creating the chain): each step on its own.
      await iptables('-D', 'INPUT', '-j', chain).catch(() => undefined);
      await iptables('-F', chain);
      await iptables('-X', chain);
    }
  }

  /** Drops every packet between an address on one side and an address on the other. */
  async split(sideA: readonly string[], sideB: readonly string[]): Promise<void> {
    await this.drop(sideA, sideB, []);
    await this.drop(sideB, sideA, []);
  }

  /** Drops every packet from an address in `from` to one in `to`; the other way still works. */
  async cutOneWay(from: readonly string[], to: readonly string[]): Promise<void> {
    await this.drop(from, to, []);
  }

  /** Drops this share (0 to 1) of the packets between any two of the addresses, at random. */
  async lose(addrs: readonly string[], share: number): Promise<void> {
    const match = ['-m', 'statistic', '--mode', 'random', '--probability', String(share)];
    for (const a of addrs) {
      await this.drop(
        [a],
        addrs.filter((b) => b !== a),
        match,
      );
    }
  }

  async heal(): Promise<void> {
    await iptables('-F', this.chain);
  }

  async remove(): Promise<void> {
    await iptables('-D', 'INPUT', '-j', this.chain);
    await iptables('-F', this.chain);
    await iptables('-X', this.chain);
  }

  private async drop(
    from: readonly string[],
    to: readonly string[],
    match: readonly string[],
  ): Promise<void> {
    for (const a of from) {
      for (const b of to)
        await iptables('-A', this.chain, '-s', a, '-d', b, ...match, '-j', 'DROP');
    }
  }
}
