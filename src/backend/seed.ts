import { createRng, type Rng } from '../core/rng.js';

/**
 * tfjs has no global seed: each random op and initializer takes its own. Kiln keeps one seeded
 * stream here and draws a fresh integer seed for every initializer, shuffle and dropout mask, so a
 * run is reproducible from `setSeed(seed)`.
 */
let stream: Rng = createRng(0);

/**
 * Restarts Kiln's seed stream: the initializers, shuffles and dropout masks drawn after this are
 * reproducible from `seed`.
 */
export function setSeed(seed: number): void {
  stream = createRng(seed);
}

/** The next integer seed of the global stream (for tf initializers and random ops). */
export function nextSeed(): number {
  return stream.int(2 ** 31 - 1);
}
