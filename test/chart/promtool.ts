// Runs the real promtool (Debian package prometheus; scripts/install-test-tools.sh installs it)
// on files written to a temporary directory.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROMTOOL_TIMEOUT_MS = 20_000;

export interface PromtoolResult {
  code: number;
  output: string;
}

/** Writes `files` into a fresh directory, runs promtool `args` there, removes the directory. */
export function runPromtool(
  args: string[],
  files: Record<string, string>,
): Promise<PromtoolResult> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-promtool-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return new Promise<PromtoolResult>((resolve, reject) => {
    execFile(
      process.env['PROMTOOL'] ?? 'promtool',
      args,
      { cwd: dir, timeout: PROMTOOL_TIMEOUT_MS },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('promtool not found: run scripts/install-test-tools.sh'));
        } else if (err && (err as { killed?: boolean }).killed) {
          reject(new Error(`promtool ${args.join(' ')} timed out after ${PROMTOOL_TIMEOUT_MS} ms`));
        } else if (err && typeof err.code !== 'number') {
          reject(err);
        } else {
          resolve({ code: err ? Number(err.code) : 0, output });
        }
      },
    );
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
