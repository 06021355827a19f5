// LMDB maps its file into memory and trusts what it finds there: a file that is not an LMDB
// environment (overwritten, truncated to garbage, another program's file under our name) makes
// the native code crash the process instead of returning an error. So before opening, the two
// meta pages at the start are checked: each must carry LMDB's magic number and the format
// version this build writes. That cannot catch every corruption deeper in the tree (LMDB keeps
// no checksums), but it turns the common case into a clear start-up error.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StoreCorruptionError } from './store-error.js';

const META_MAGIC = 0xbeefc0de;
/** Data format version of the LMDB inside the lmdb package (mdb.master3). */
const META_VERSION = 2;
/** Where the magic sits in a meta page: after the 16-byte page header and 8 bytes of it. */
const MAGIC_OFFSET = 24;
const VERSION_OFFSET = 28;
/** Page sizes LMDB may use; the second meta page starts one page in. */
const PAGE_SIZES = [4096, 8192, 16384, 32768, 65536];

/** Throws StoreCorruptionError when `path` exists but is not an LMDB file; a missing file is fine. */
export function checkLmdbFile(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return; // LMDB creates it
  }
  if (size === 0) return; // created but never written: LMDB initializes it
  const head = Buffer.alloc(Math.min(size, 2 * PAGE_SIZES[PAGE_SIZES.length - 1]!));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const isMeta = (at: number): boolean =>
    head.length >= at + VERSION_OFFSET + 4 &&
    head.readUInt32LE(at + MAGIC_OFFSET) === META_MAGIC &&
    head.readUInt32LE(at + VERSION_OFFSET) === META_VERSION;
  if (!isMeta(0) || !PAGE_SIZES.some((pageSize) => isMeta(pageSize))) {
    throw new StoreCorruptionError(
      `${path} is not an LMDB data file of this version (its meta pages are damaged); ` +
        'move it aside to start empty (replicas refill this node), or restore it from a backup',
    );
  }
}
