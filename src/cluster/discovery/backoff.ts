// Exponential backoff between bounded retries: base, 2x base, 4x base, ... never above the cap.
// Used between DNS query attempts and between start-up discovery rounds.

/** The wait before retry number `retry` (1 = the first retry). */
export function backoffDelayMs(retry: number, baseMs: number, maxMs: number): number {
  const exponent = Math.max(0, Math.floor(retry) - 1);
  // Cap the exponent too: 2 ** 1100 is Infinity, and a cap keeps the arithmetic exact.
  return Math.min(baseMs * 2 ** Math.min(exponent, 30), maxMs);
}
