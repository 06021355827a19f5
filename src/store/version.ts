// A record's version: a hybrid logical clock timestamp (wall milliseconds + counter) with the
// writing node's name as the tie-breaker, so every replica orders any two writes the same way
// and last-writer-wins merges agree everywhere.

export interface Version {
  wallMs: number;
  counter: number;
  node: string;
}

/** Negative when a is older than b, 0 when equal, positive when a is newer. */
export function compareVersions(a: Version, b: Version): number {
  if (a.wallMs !== b.wallMs) return a.wallMs - b.wallMs;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The text form used in ETags and JSON answers: `<wallMs>-<counter>-<node>`. */
export function formatVersion(v: Version): string {
  return `${v.wallMs}-${v.counter}-${v.node}`;
}

export function parseVersion(text: string): Version | undefined {
  const match = /^(\d{1,15})-(\d{1,10})-(.+)$/.exec(text);
  if (!match) return undefined;
  return { wallMs: Number(match[1]), counter: Number(match[2]), node: match[3] ?? '' };
}
