// A real dnsmasq serving a headless Service's records on a loopback address, so discovery is
// also proven against a DNS server we did not write. Records are fixed for the life of the
// process (dnsmasq reads host-record and srv-host once): to move a pod, stop and start again on
// the same address and port. dnsmasq must be installed (Debian dnsmasq-base; CI installs it):
// without it, start-up fails with a message saying so, it is never skipped.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { query } from '../../src/cluster/discovery/dns-client.js';
import { isDnsError } from '../../src/cluster/discovery/dns-error.js';

export const DNSMASQ_PATH = '/usr/sbin/dnsmasq';
/** dnsmasq binds within milliseconds; this only bounds a broken start. */
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
const READY_QUERY_TIMEOUT_MS = 200;
/** Starts on a fresh free port when the one we picked was taken before dnsmasq bound it. */
const START_ATTEMPTS = 5;
const STOP_TIMEOUT_MS = 5_000;
/** dnsmasq's log kept for failure messages: the tail, bounded. */
const LOG_CHARS_MAX = 64 * 1024;

export interface HostRecord {
  name: string;
  ip: string;
}

export interface SrvRecord {
  name: string;
  target: string;
  port: number;
}

export interface DnsmasqOptions {
  /** A loopback address to serve on (127.0.0.0/8 is all local); default 127.0.0.1. */
  listenAddress?: string;
  /** Default: a port free for both UDP and TCP. */
  port?: number;
  hostRecords?: readonly HostRecord[];
  srvRecords?: readonly SrvRecord[];
  /**
   * Domains dnsmasq answers alone: unknown names in them get NXDOMAIN, as from cluster DNS.
   * Names outside them get REFUSED (there is no upstream). Default: cluster.local.
   */
  localDomains?: readonly string[];
}

export interface Dnsmasq {
  readonly host: string;
  readonly port: number;
  /** `{ host, port }`, the shape the DNS client takes. */
  readonly address: { host: string; port: number };
  /** dnsmasq's output so far (queries are logged), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** The records cluster DNS serves for a headless Service with a port named `gossip`. */
export function headlessServiceRecords(
  service: string,
  pods: readonly { name: string; ip: string }[],
  gossipPort: number,
): { hostRecords: HostRecord[]; srvRecords: SrvRecord[] } {
  const hostRecords: HostRecord[] = [];
  const srvRecords: SrvRecord[] = [];
  for (const pod of pods) {
    const podName = `${pod.name}.${service}`;
    hostRecords.push({ name: podName, ip: pod.ip }, { name: service, ip: pod.ip });
    srvRecords.push({ name: `_gossip._udp.${service}`, target: podName, port: gossipPort });
  }
  return { hostRecords, srvRecords };
}

export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  try {
    await access(DNSMASQ_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `dnsmasq is not installed at ${DNSMASQ_PATH}: install the Debian package dnsmasq-base ` +
        '(the CI setup installs it); the discovery integration tests need a real DNS server',
    );
  }
  const host = options.listenAddress ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'shoal-dnsmasq-'));
  const confFile = join(dir, 'dnsmasq.conf');
  await writeFile(confFile, configText(options));
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const port = options.port ?? (await freePort(host));
        return await launch(host, port, confFile, dir);
      } catch (err) {
        const retry = options.port === undefined && /in use/i.test((err as Error).message);
        if (!retry || attempt >= START_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function configText(options: DnsmasqOptions): string {
  const lines = (options.localDomains ?? ['cluster.local']).map((d) => `local=/${d}/`);
  for (const record of options.hostRecords ?? []) {
    lines.push(`host-record=${record.name},${record.ip}`);
  }
  for (const record of options.srvRecords ?? []) {
    lines.push(`srv-host=${record.name},${record.target},${record.port}`);
  }
  return `${lines.join('\n')}\n`;
}

async function launch(host: string, port: number, confFile: string, dir: string): Promise<Dnsmasq> {
  const child = spawn(
    DNSMASQ_PATH,
    [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${host}`,
      `--port=${port}`,
      `--conf-file=${confFile}`,
      // No pid file: several dnsmasq instances run side by side, none owns /run/dnsmasq.pid.
      '--pid-file',
      '--log-facility=-',
      '--log-queries',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-LOG_CHARS_MAX);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      append(Buffer.from(`spawn failed: ${err.message}\n`));
      exited = true;
      resolve();
    });
  });
  // A test that dies before stop() must not leave a dnsmasq behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stopProcess = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
  };
  const stop = async (): Promise<void> => {
    await stopProcess();
    await rm(dir, { recursive: true, force: true });
  };

  const address = { host, port };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answers(address))) {
    if (exited || Date.now() > deadline) {
      await stopProcess();
      const why = exited ? 'exited' : `did not answer within ${READY_TIMEOUT_MS} ms`;
      throw new Error(`dnsmasq on ${host}:${port} ${why}:\n${output}`);
    }
    await sleep(READY_POLL_MS);
  }
  return { host, port, address, log: () => output, stop };
}

/** Whether something answers DNS at `address` (any rcode counts: it is up). */
async function answers(address: { host: string; port: number }): Promise<boolean> {
  try {
    await query(address, 'ready.probe.invalid', 'A', {
      timeoutMs: READY_QUERY_TIMEOUT_MS,
      attempts: 1,
    });
    return true;
  } catch (err) {
    if (isDnsError(err) && (err.code === 'DNS_TIMEOUT' || err.code === 'DNS_NETWORK')) {
      return false;
    }
    return true;
  }
}

/** A port on `host` that is free for UDP and TCP right now. */
async function freePort(host: string): Promise<number> {
  const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, host, () => resolve());
  });
  const port = udp.address().port;
  const tcp = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  } finally {
    udp.close();
  }
  return port;
}
