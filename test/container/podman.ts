// podman for the container tests: every call goes through runc (crun fails on hybrid cgroup
// hosts), with a timeout, and resolves with the exit code and output instead of throwing, so a
// test can show podman's own message. `buildImage` runs scripts/build-image.sh, which builds the
// stand-in base image once and the shoal image from the top-level Dockerfile.

import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build-image.sh');

const PODMAN_TIMEOUT_MS = 60_000;
const OUTPUT_BYTES_MAX = 64 * 1024 * 1024;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args`; resolves with the exit code and output, rejects only on timeout. */
export function run(
  file: string,
  args: string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? PODMAN_TIMEOUT_MS;
  return new Promise((resolvePromise, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? REPO_ROOT, timeout: timeoutMs, maxBuffer: OUTPUT_BYTES_MAX },
      (err, stdout, stderr) => {
        const failure = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (failure?.killed) {
          reject(new Error(`${file} ${args.join(' ')} timed out after ${timeoutMs} ms`));
          return;
        }
        if (failure && typeof failure.code !== 'number') {
          reject(failure);
          return;
        }
        resolvePromise({ code: failure ? Number(failure.code) : 0, stdout, stderr });
      },
    );
  });
}

/** `podman --runtime runc ARGS`. */
export function podman(args: string[], timeoutMs?: number): Promise<CommandResult> {
  return run('podman', ['--runtime', 'runc', ...args], { timeoutMs });
}

/** Like `podman`, but fails with podman's message when it exits non-zero; returns stdout. */
export async function podmanOk(args: string[], timeoutMs?: number): Promise<string> {
  const result = await podman(args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

export interface ImageBuild {
  image: string;
  durationMs: number;
  /** The script's log lines (`build-image: ...`): what it built or reused, and how long it took. */
  steps: string[];
}

/** Builds `image` with scripts/build-image.sh; fails with the end of its output. */
export async function buildImage(image: string, timeoutMs: number): Promise<ImageBuild> {
  const started = performance.now();
  const result = await run(BUILD_SCRIPT, [image], { timeoutMs });
  const durationMs = performance.now() - started;
  if (result.code !== 0) {
    // The error lines first (npm follows its message with a page of usage text), then the end.
    const lines = `${result.stdout}\n${result.stderr}`.trim().split('\n');
    const errors = lines
      .filter((line) => /error/i.test(line) && !/^npm error(\s*$|\s{2,})/.test(line))
      .slice(0, 8);
    throw new Error(
      `scripts/build-image.sh exited ${result.code}:\n${errors.join('\n')}\n...\n` +
        lines.slice(-10).join('\n'),
    );
  }
  const steps = result.stderr.split('\n').filter((line) => line.startsWith('build-image: '));
  return { image, durationMs, steps };
}

/** The image's size in bytes, as `podman images` counts it. */
export async function imageSize(image: string): Promise<number> {
  return Number((await podmanOk(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}

/** Removes containers by name, at once, whether they run or not; never fails. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await podman(['rm', '--force', '--ignore', '--time', '0', ...names]).catch(() => undefined);
}

/** The last lines of a container's output, for failure messages. */
export async function containerLogs(name: string, lines = 30): Promise<string> {
  const result = await podman(['logs', '--tail', String(lines), name]).catch(() => undefined);
  return result === undefined ? '' : `${result.stdout}${result.stderr}`.trim();
}
