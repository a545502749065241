/**
 * Seeded randomness. Every stochastic piece of Kiln takes an Rng so that a run is reproducible
 * from its seed; `state()`/`restore()` let a resumed study continue the same stream.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** In-place Fisher-Yates shuffle; returns the array. */
  shuffle<T>(items: T[]): T[];
  /** Index drawn with probability proportional to `weights`. */
  categorical(weights: ArrayLike<number>): number;
  state(): number;
  restore(state: number): void;
}

/** mulberry32: tiny, fast, 32-bit state, good enough for sampling and shuffling. */
export function createRng(seed: number): Rng {
  let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j], items[i]];
      }
      return items;
    },
    categorical: (weights) => {
      let total = 0;
      for (let i = 0; i < weights.length; i++) total += weights[i];
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i];
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    state: () => s,
    restore: (state) => {
      s = state >>> 0;
    },
  };
  return rng;
}
