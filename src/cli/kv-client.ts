// `shoal kv get|put|rm|ls`: a small client for a node's /v1/kv API.
// Exit codes: 0 done, 1 the server refused (not found, bad request, unavailable), 2 usage,
// 3 the node could not be reached.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

export const DEFAULT_ADDR = 'http://127.0.0.1:8080';

const HELP = `Usage:
  shoal kv get <key> [--consistency one|quorum|all]
  shoal kv put <key> [<value>] [--file <path>] [--ttl 30s] [--content-type <type>] [--consistency ...]
               (the value comes from the argument, the file, or else stdin)
  shoal kv rm <key> [--consistency ...]
  shoal kv ls [--prefix <prefix>] [--limit <n>]
Every command takes --addr <url> (default $SHOAL_ADDR or ${DEFAULT_ADDR}).`;

export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function baseUrl(addr: string | undefined): string {
  const text = addr ?? process.env.SHOAL_ADDR ?? DEFAULT_ADDR;
  const withScheme = /^https?:\/\//.test(text) ? text : `http://${text}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    throw new UsageError(`--addr "${text}" is not a URL or host:port`);
  }
}

export async function request(url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError(
      `cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      3,
    );
  }
  if (!response.ok && response.status !== 304) {
    const text = await response.text();
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (body.error) message = `${body.error.code}: ${body.error.message}`;
    } catch {
      // not a JSON error body; the status line says enough
    }
    throw new ClientError(message, 1);
  }
  return response;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function keyUrl(base: string, key: string, query: Record<string, string | undefined>): string {
  const url = new URL(`/v1/kv/${encodeURIComponent(key)}`, base);
  for (const [name, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

export async function kvCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? 2 : 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        addr: { type: 'string' },
        consistency: { type: 'string' },
        file: { type: 'string' },
        ttl: { type: 'string' },
        'content-type': { type: 'string' },
        prefix: { type: 'string' },
        limit: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const base = baseUrl(values.addr);
  const key = positionals[0];
  const needKey = (): string => {
    if (key === undefined || key === '') throw new UsageError(`shoal kv ${command} needs a key`);
    return key;
  };

  switch (command) {
    case 'get': {
      const response = await request(keyUrl(base, needKey(), { consistency: values.consistency }));
      process.stdout.write(Buffer.from(await response.arrayBuffer()));
      return 0;
    }
    case 'put': {
      const k = needKey();
      const value =
        positionals[1] !== undefined
          ? Buffer.from(positionals[1], 'utf8')
          : values.file !== undefined
            ? readFileSync(values.file)
            : await readStdin();
      const response = await request(
        keyUrl(base, k, { ttl: values.ttl, consistency: values.consistency }),
        {
          method: 'PUT',
          body: value,
          headers: { 'content-type': values['content-type'] ?? 'application/octet-stream' },
        },
      );
      const body = (await response.json()) as { version: string };
      process.stdout.write(`${body.version}\n`);
      return 0;
    }
    case 'rm': {
      await request(keyUrl(base, needKey(), { consistency: values.consistency }), {
        method: 'DELETE',
      });
      return 0;
    }
    case 'ls': {
      const wanted = values.limit === undefined ? Infinity : Number(values.limit);
      if (!(wanted >= 1)) throw new UsageError('--limit must be a positive number');
      let cursor: string | null = null;
      let printed = 0;
      do {
        const url = new URL('/v1/kv', base);
        url.searchParams.set('prefix', values.prefix ?? '');
        url.searchParams.set('limit', String(Math.min(1000, wanted - printed)));
        if (cursor !== null) url.searchParams.set('cursor', cursor);
        const page = (await (await request(url.toString())).json()) as {
          keys: string[];
          next_cursor: string | null;
        };
        for (const k of page.keys) process.stdout.write(`${k}\n`);
        printed += page.keys.length;
        cursor = page.next_cursor;
      } while (cursor !== null && printed < wanted);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "kv ${command}"; try shoal kv --help`);
  }
}

/** `shoal members [--addr URL]`: the cluster's members as a table. */
export async function membersCommand(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: { addr: { type: 'string' }, json: { type: 'boolean' } },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const response = await request(new URL('/v1/cluster/members', baseUrl(values.addr)).toString());
  const body = (await response.json()) as {
    self: string;
    members: {
      name: string;
      addr: string;
      gossip_port: number;
      http_port: number;
      state: string;
      incarnation: number;
    }[];
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const rows = [['NAME', 'ADDRESS', 'HTTP', 'STATE', 'INCARNATION']];
  for (const m of body.members) {
    rows.push([
      `${m.name}${m.name === body.self ? ' (self)' : ''}`,
      `${m.addr}:${m.gossip_port}`,
      String(m.http_port),
      m.state,
      String(m.incarnation),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows)
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}
