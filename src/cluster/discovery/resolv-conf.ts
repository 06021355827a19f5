// The resolver a pod is told to use lives in /etc/resolv.conf (Kubernetes writes the cluster DNS
// Service IP there). Discovery asks that server when SHOAL_DNS_SERVER is not set. Only the
// `nameserver` lines matter to us: shoal asks for fully qualified names, so `search` and `ndots`
// do not apply.

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

export const RESOLV_CONF_PATH = '/etc/resolv.conf';
/** glibc reads at most three nameservers (MAXNS) and ignores the rest; so do we. */
export const NAMESERVERS_MAX = 3;
/** The port a `nameserver` line implies: resolv.conf has no syntax for another. */
export const DNS_PORT = 53;

/**
 * The nameserver addresses in resolv.conf text, in file order. Lines that are not a well-formed
 * `nameserver <IPv4|IPv6>` are skipped, as libc skips them; comments start with `#` or `;`.
 */
export function parseResolvConf(text: string): string[] {
  const nameservers: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const [keyword, address, ...rest] = line.split(/\s+/);
    if (keyword !== 'nameserver' || address === undefined || rest.length > 0) continue;
    if (isIP(address) === 0) continue;
    nameservers.push(address);
    if (nameservers.length === NAMESERVERS_MAX) break;
  }
  return nameservers;
}

/**
 * The nameservers of the file at `path`. A missing file gives an empty list (a container may have
 * none; the caller decides whether that is fatal); any other read failure rejects with its cause.
 */
export async function readNameservers(path: string = RESOLV_CONF_PATH): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return parseResolvConf(text);
}
