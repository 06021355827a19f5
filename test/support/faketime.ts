// Starts a process with its wall clock shifted (libfaketime, Debian `faketime`), as a machine
// whose NTP is broken would run it. Timers and timeouts run on the monotonic clock, which stays
// true.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** libfaketime, under the machine's multiarch library directory. */
function findLibfaketime(): string {
  for (const dir of ['/usr/lib', ...readdirSync('/usr/lib').map((d) => join('/usr/lib', d))]) {
    const lib = join(dir, 'faketime', 'libfaketimeMT.so.1');
    if (existsSync(lib)) return lib;
  }
  throw new Error('libfaketime is not installed (scripts/install-test-tools.sh installs faketime)');
}

/** Environment that runs a process with its wall clock `seconds` ahead (behind, if negative). */
export function shiftedClockEnv(seconds: number): Record<string, string> {
  return {
    LD_PRELOAD: findLibfaketime(),
    FAKETIME: `${seconds >= 0 ? '+' : ''}${seconds}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}
