// A real Prometheus (Debian's /usr/bin/prometheus) scraping fixed targets, with its TSDB and log
// in a directory of the caller's, listening on a free port of a loopback address; `query` asks
// its HTTP API for an instant vector.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';

export const PROMETHEUS_BIN = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 200;

export interface ScrapeTarget {
  /** host:port */
  address: string;
  labels: Record<string, string>;
}

export interface PrometheusOptions {
  host: string;
  /** Holds prometheus.yml, the TSDB and the log; the caller removes it. */
  dir: string;
  jobName: string;
  metricsPath: string;
  targets: ScrapeTarget[];
  scrapeIntervalSeconds: number;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  readonly url: string;
  readonly configFile: string;
  /** The instant vector `expr` evaluates to now. */
  query(expr: string): Promise<Sample[]>;
  /** The end of Prometheus' own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function configText(options: PrometheusOptions): string {
  const interval = `${options.scrapeIntervalSeconds}s`;
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.jobName)}`,
    `    metrics_path: ${JSON.stringify(options.metricsPath)}`,
    '    static_configs:',
  ];
  for (const target of options.targets) {
    lines.push(`      - targets: [${JSON.stringify(target.address)}]`);
    lines.push(`        labels: ${JSON.stringify(target.labels)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const port = await freePort(options.host);
  const url = `http://${options.host}:${port}`;
  const configFile = join(options.dir, 'prometheus.yml');
  const logFile = join(options.dir, 'prometheus.log');
  writeFileSync(configFile, configText(options));
  const logFd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dir, 'tsdb')}`,
      `--web.listen-address=${options.host}:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8').trim().split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`prometheus exited at start-up:\n${log()}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within ${READY_TIMEOUT_MS} ms:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }

  return {
    url,
    configFile,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: {
          resultType: string;
          result: { metric: Record<string, string>; value: [number, string] }[];
        };
      };
      if (body.status !== 'success' || body.data?.resultType !== 'vector') {
        throw new Error(`query ${expr} failed: ${body.error ?? JSON.stringify(body)}`);
      }
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    log,
    stop,
  };
}
