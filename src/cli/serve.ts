// `shoal serve`: load the config (exit 2 on a bad value), start the node, and stop it
// gracefully on SIGTERM or SIGINT (exit 0); a second signal exits at once.

import { ConfigError, loadConfig, serveHelp } from '../config.js';
import { ShoalNode } from '../node.js';
import { PartitionCountMismatchError } from '../store/lmdb-store.js';
import { createLogger } from '../observability/logger.js';

export async function serve(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${serveHelp()}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, config.nodeName);
  let node: ShoalNode;
  try {
    node = await ShoalNode.start(config, logger);
  } catch (err) {
    const message = (err as Error).message;
    logger.fatal({ err }, 'start-up failed');
    process.stderr.write(`shoal: cannot start: ${message}\n`);
    return err instanceof PartitionCountMismatchError || err instanceof ConfigError ? 2 : 1;
  }

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(1);
      }
      signalled = true;
      logger.info({ signal }, 'shutting down');
      node.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
