// Where a node's incarnation starts. A restarted pod keeps its name but begins with no memory,
// and its old record may still be "dead" or "suspect" in the cluster at some incarnation. To win
// over that record at once, each start takes an incarnation above every earlier one: the larger
// of (the last one persisted in the data directory + 1) and the current time in seconds (which
// covers a lost or fresh volume). Seconds keep it inside the wire's u32 until 2106.

import {
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  openSync,
  fsyncSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';

const FILE_NAME = 'incarnation';
export const INCARNATION_MAX = 0xffff_ffff;

export function readIncarnation(dataDir: string): number | undefined {
  try {
    const text = readFileSync(join(dataDir, FILE_NAME), 'utf8').trim();
    const n = Number(text);
    return /^\d+$/.test(text) && n <= INCARNATION_MAX ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Persists `incarnation` atomically (write, fsync, rename), so a crash leaves old or new. */
export function writeIncarnation(dataDir: string, incarnation: number): void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, FILE_NAME);
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${incarnation}\n`);
  const fd = openSync(temporary, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The incarnation for this start, persisted before it is used. */
export function nextIncarnation(dataDir: string, nowMs: number): number {
  const previous = readIncarnation(dataDir) ?? 0;
  const next = Math.min(INCARNATION_MAX, Math.max(previous + 1, Math.floor(nowMs / 1000)));
  writeIncarnation(dataDir, next);
  return next;
}
