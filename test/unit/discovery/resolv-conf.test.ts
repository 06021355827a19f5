import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResolvConf, readNameservers } from '../../../src/cluster/discovery/resolv-conf.js';

describe('resolv.conf', () => {
  it('reads the nameserver of a Kubernetes pod', () => {
    const text = [
      'search default.svc.cluster.local svc.cluster.local cluster.local',
      'nameserver 10.96.0.10',
      'options ndots:5',
      '',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual(['10.96.0.10']);
  });

  it('keeps file order, IPv4 and IPv6, and stops at three as libc does', () => {
    const text =
      'nameserver 10.0.0.1\nnameserver fd00::53\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n';
    expect(parseResolvConf(text)).toEqual(['10.0.0.1', 'fd00::53', '10.0.0.2']);
  });

  it('ignores comments, blank lines, CRLF and surrounding space', () => {
    const text = '# generated\r\n; old style\r\n\r\n   nameserver   10.0.0.1   # primary\r\n';
    expect(parseResolvConf(text)).toEqual(['10.0.0.1']);
  });

  it('skips lines that are not a nameserver address', () => {
    const text = [
      'nameserver',
      'nameserver dns.example.com',
      'nameserver 10.0.0.1 10.0.0.2',
      'nameserver 300.1.1.1',
      'nameservers 10.0.0.3',
      'domain example.com',
      'nameserver 10.0.0.4',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual(['10.0.0.4']);
  });

  it('finds nothing in an empty file', () => {
    expect(parseResolvConf('')).toEqual([]);
  });

  it('reads a file from disk, and a missing file as no nameservers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-resolv-'));
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, 'nameserver 127.0.0.53\n');
    expect(await readNameservers(path)).toEqual(['127.0.0.53']);
    expect(await readNameservers(join(dir, 'absent.conf'))).toEqual([]);
  });

  it('rejects when the path cannot be read for another reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-resolv-'));
    await expect(readNameservers(dir)).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
