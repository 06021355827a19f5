// Background task failures: each one counted, the log kept to one line per task per interval.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { backgroundErrors } from '../../../src/observability/background-errors.js';
import { BackgroundLoop } from '../../../src/background-loop.js';

function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

async function failures(registry: Registry, task: string): Promise<number> {
  const metric = await registry.getSingleMetric('shoal_background_errors_total')?.get();
  return metric?.values.find((v) => v.labels.task === task)?.value ?? 0;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('background task failures', () => {
  it('counts every failure and logs the first, then one line per interval with the count between', async () => {
    const registry = new Registry();
    const { logger, lines } = capturedLogger();
    let nowMs = 0;
    const failed = backgroundErrors(registry, logger, 60_000, () => nowMs);
    const antiEntropy = failed('anti-entropy');
    const hints = failed('hint-delivery');

    antiEntropy(new Error('peer n2 unreachable'));
    for (let i = 0; i < 5; i++) {
      nowMs += 1_000;
      antiEntropy(new Error('peer n2 unreachable'));
    }
    hints(new Error('n3 refused the batch'));
    await settle();
    expect(await failures(registry, 'anti-entropy')).toBe(6);
    expect(await failures(registry, 'hint-delivery')).toBe(1);
    expect(lines.map((line) => line.msg)).toEqual(['anti-entropy failed', 'hint-delivery failed']);
    expect((lines[0]?.err as { message?: string }).message).toBe('peer n2 unreachable');

    nowMs += 60_000;
    antiEntropy(new Error('still unreachable'));
    await settle();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({
      msg: 'anti-entropy failed',
      task: 'anti-entropy',
      failuresSinceLastLine: 5,
      level: 40,
    });
    expect(await failures(registry, 'anti-entropy')).toBe(7);
  });

  it('a loop whose runs fail reports each failure and keeps running', async () => {
    const reported: unknown[] = [];
    let runs = 0;
    const loop = new BackgroundLoop(
      1,
      () => {
        runs++;
        return runs % 2 === 1 ? Promise.reject(new Error(`run ${runs}`)) : Promise.resolve();
      },
      (err) => {
        reported.push(err);
        throw new Error('a reporter that throws does not stop the loop');
      },
    );
    loop.start();
    await expect.poll(() => runs, { timeout: 5_000 }).toBeGreaterThanOrEqual(6);
    await loop.stop();
    expect(reported.length).toBeGreaterThanOrEqual(3);
    expect(reported.map(String).slice(0, 3)).toEqual([
      'Error: run 1',
      'Error: run 3',
      'Error: run 5',
    ]);
  });
});
