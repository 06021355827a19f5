// Seeds for simulation tests: a fixed one by default (so CI is repeatable), any other through
// SHOAL_SIM_SEED, and a failure always names the seed that replays it.

/** The seed to run: SHOAL_SIM_SEED when set, else `fallback`. */
export function simSeed(fallback: number): number {
  const raw = process.env['SHOAL_SIM_SEED'];
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new Error(`SHOAL_SIM_SEED must be an integer 0..4294967295, got ${raw}`);
  }
  return seed;
}

/** Runs `body` with the seed; a failure's message gains the line that replays it. */
export function withSeed<T>(fallback: number, body: (seed: number) => T): T {
  const seed = simSeed(fallback);
  try {
    return body(seed);
  } catch (err) {
    if (err instanceof Error) {
      err.message += `\n  replay this run with SHOAL_SIM_SEED=${seed}`;
    }
    throw err;
  }
}
