#!/usr/bin/env node
// The `shoal` command: `shoal serve` runs a node; `shoal kv ...` talks to one.

import { ClientError, kvCommand, membersCommand } from './cli/kv-client.js';
import { UsageError } from './cli/usage-error.js';

const HELP = `Usage: shoal <command>

Commands:
  serve            run a node (shoal serve --help lists every flag)
  kv get|put|rm|ls read and write keys on a node (shoal kv --help)
  members          list the cluster's members as a node sees them [--addr URL] [--json]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      // Loaded on demand: the client commands should not pay for the server's start-up.
      const { serve } = await import('./cli/serve.js');
      return serve(rest);
    }
    case 'kv':
      return kvCommand(rest);
    case 'members':
      return membersCommand(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"; try shoal --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof ClientError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`shoal: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
