// pino JSON logs on stdout: one line per event, the node name on every line.

import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, nodeName: string): Logger {
  return pino({ level, base: { node: nodeName }, timestamp: pino.stdTimeFunctions.isoTime });
}
