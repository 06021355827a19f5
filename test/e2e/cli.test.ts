// The `shoal` command as a user runs it: `shoal kv ...` against a real node, its exit codes
// (0 done, 1 refused by the server, 2 usage, 3 unreachable), and `shoal serve --help`.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import {
  makeTempDir,
  runShoal,
  runSummary,
  startShoal,
  type RunResult,
  type ShoalProcess,
} from '../support/shoal-process.js';

let node: ShoalProcess;

beforeAll(async () => {
  node = await startShoal();
});

afterAll(async () => {
  await node?.stop();
});

/** For failure messages: how the node is doing, and what it printed if it is gone. */
function nodeState(): string {
  const { exitCode, signalCode } = node.process;
  if (exitCode === null && signalCode === null) return '';
  return `\nthe node exited (code ${exitCode}, signal ${signalCode}):\n${node.output()}`;
}

function kv(args: string[], stdin?: Buffer | string): Promise<RunResult> {
  return runShoal(['kv', ...args, '--addr', node.url], {}, stdin);
}

/** Writes through the HTTP API, for tests whose subject is another command. */
async function httpPut(key: string, value: string): Promise<void> {
  const response = await fetch(`${node.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'PUT',
    body: value,
  });
  expect(response.status, await response.text()).toBe(200);
}

async function ok(args: string[], stdin?: Buffer | string): Promise<Buffer> {
  const result = await kv(args, stdin);
  expect(result.code, `shoal kv ${args.join(' ')}: ${runSummary(result)}${nodeState()}`).toBe(0);
  return result.stdout;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('shoal kv', () => {
  it('put then get prints the value', async () => {
    const version = (await ok(['put', 'greeting', 'hello world'])).toString();
    expect(version).toMatch(/^\S+\n$/);
    expect((await ok(['get', 'greeting'])).toString()).toBe('hello world');

    // What the CLI wrote is what the HTTP API reads.
    const response = await fetch(`${node.url}/v1/kv/greeting`);
    expect(await response.text()).toBe('hello world');
    expect(response.headers.get('etag')).toBe(`"${version.trim()}"`);
  });

  it('put --file stores the file byte for byte', async () => {
    const file = join(makeTempDir(), 'value.bin');
    writeFileSync(file, ALL_BYTES);
    await ok(['put', 'from-file', '--file', file]);
    expect((await ok(['get', 'from-file'])).equals(ALL_BYTES)).toBe(true);
  });

  it('put without a value reads stdin, binary bytes included', async () => {
    const bytes = Buffer.concat([ALL_BYTES, Buffer.from(ALL_BYTES).reverse()]);
    await ok(['put', 'from-stdin'], bytes);
    expect((await ok(['get', 'from-stdin'])).equals(bytes)).toBe(true);
  });

  it('put --content-type and --ttl reach the node', async () => {
    await ok(['put', 'typed', '{"a":1}', '--content-type', 'application/json', '--ttl', '1h']);
    const response = await fetch(`${node.url}/v1/kv/typed`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{"a":1}');
  });

  it('handles keys with "/" and unicode', async () => {
    await ok(['put', 'dir/sub/ключ', 'nested']);
    expect((await ok(['get', 'dir/sub/ключ'])).toString()).toBe('nested');
    const response = await fetch(`${node.url}/v1/kv/dir/sub/${encodeURIComponent('ключ')}`);
    expect(await response.text()).toBe('nested');
  });

  it('ls --prefix lists the keys of the prefix, sorted, one a line; --limit stops early', async () => {
    const keys = ['ls/c', 'ls/a', 'ls/b/1', 'ls/é', 'ls/B', 'ls/a0'];
    for (const key of keys) await httpPut(key, 'x');
    await httpPut('lt', 'outside');
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

    const all = (await ok(['ls', '--prefix', 'ls/'])).toString();
    expect(all).toBe(sorted.map((k) => `${k}\n`).join(''));

    const firstThree = (await ok(['ls', '--prefix', 'ls/', '--limit', '3'])).toString();
    expect(firstThree).toBe(
      sorted
        .slice(0, 3)
        .map((k) => `${k}\n`)
        .join(''),
    );

    const none = (await ok(['ls', '--prefix', 'nothing/'])).toString();
    expect(none).toBe('');
  });

  it('rm deletes; get then exits 1 with a message saying the key is not found', async () => {
    await httpPut('doomed', 'x');
    await ok(['rm', 'doomed']);
    const gone = await fetch(`${node.url}/v1/kv/doomed`);
    await gone.arrayBuffer();
    expect(gone.status).toBe(404);
    const result = await kv(['get', 'doomed']);
    expect(result.code, runSummary(result)).toBe(1);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/NOT_FOUND|not found/i);
    expect(result.stderr).toContain('doomed');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);

    const again = await kv(['rm', 'doomed']);
    expect(again.code, runSummary(again)).toBe(1);
    expect(again.stderr).toMatch(/NOT_FOUND|not found/i);
  });

  it('exits 1 with the reason when the node refuses a request', async () => {
    const result = await kv(['get', 'k', '--consistency', 'bogus']);
    expect(result.code, runSummary(result)).toBe(1);
    expect(result.stderr).toContain('BAD_QUERY');
  });

  it('takes the address from SHOAL_ADDR when --addr is not given', async () => {
    await httpPut('via-env', 'found');
    const result = await runShoal(['kv', 'get', 'via-env'], { SHOAL_ADDR: node.url });
    expect(result.code, runSummary(result)).toBe(0);
    expect(result.stdout.toString()).toBe('found');
  });

  it('exits 3 when the node cannot be reached', async () => {
    const closedPort = await freePort();
    const result = await runShoal(['kv', 'get', 'k', '--addr', `http://127.0.0.1:${closedPort}`]);
    expect(result.code, runSummary(result)).toBe(3);
    expect(result.stderr).toMatch(/cannot reach|ECONNREFUSED/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    { name: 'get without a key', args: ['kv', 'get'] },
    { name: 'rm without a key', args: ['kv', 'rm'] },
    { name: 'an unknown kv subcommand', args: ['kv', 'frobnicate', 'k'] },
    { name: 'an unknown flag', args: ['kv', 'get', 'k', '--bogus'] },
    { name: 'an unknown command', args: ['frobnicate'] },
  ])('exits 2 on a usage error: $name', async ({ args }) => {
    // A usage error is found before any request: the address is never contacted.
    const result = await runShoal([...args, '--addr', node.url]);
    expect(result.code, runSummary(result)).toBe(2);
    expect(result.stderr.trim().length).toBeGreaterThan(0);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('shoal serve --help', () => {
  // CONTRACT.md's configuration table.
  const variables = [
    'SHOAL_NODE_NAME',
    'SHOAL_BIND_ADDR',
    'SHOAL_ADVERTISE_ADDR',
    'SHOAL_HTTP_PORT',
    'SHOAL_GOSSIP_PORT',
    'SHOAL_DATA_DIR',
    'SHOAL_JOIN',
    'SHOAL_DISCOVERY_DNS',
    'SHOAL_DNS_SERVER',
    'SHOAL_CLUSTER_NAME',
    'SHOAL_GOSSIP_KEYS',
    'SHOAL_GOSSIP_KEYS_FILE',
    'SHOAL_REPLICATION_FACTOR',
    'SHOAL_PARTITIONS',
    'SHOAL_WRITE_CONSISTENCY',
    'SHOAL_READ_CONSISTENCY',
    'SHOAL_MAX_KEY_BYTES',
    'SHOAL_MAX_VALUE_BYTES',
    'SHOAL_LOG_LEVEL',
  ];
  const flags = [
    '--node-name',
    '--bind-addr',
    '--advertise-addr',
    '--http-port',
    '--gossip-port',
    '--data-dir',
    '--join',
    '--discovery-dns',
    '--dns-server',
    '--cluster-name',
    '--gossip-keys',
    '--replication-factor',
    '--partitions',
    '--log-level',
  ];

  it('lists every SHOAL_ variable and flag of the configuration, and exits 0', async () => {
    const result = await runShoal(['serve', '--help']);
    expect(result.code, runSummary(result)).toBe(0);
    const help = result.stdout.toString();
    for (const variable of variables) expect(help).toMatch(new RegExp(`\\b${variable}\\b`));
    for (const flag of flags) expect(help).toMatch(new RegExp(`${flag}\\b`));
  });
});
