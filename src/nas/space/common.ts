import type { Rng } from '../../core/index.js';
import type { Architecture, Decision } from './types.js';

/** One-hot over each decision's choices, concatenated in decision order. */
export function oneHot(decisions: readonly Decision[], a: Architecture): Float32Array {
  const size = decisions.reduce((n, d) => n + d.choices.length, 0);
  const out = new Float32Array(size);
  let offset = 0;
  decisions.forEach((d, i) => {
    out[offset + a.values[i]] = 1;
    offset += d.choices.length;
  });
  return out;
}

/** Every decision drawn uniformly and independently. */
export function uniformValues(decisions: readonly Decision[], rng: Rng): number[] {
  return decisions.map((d) => rng.int(d.choices.length));
}

/** `a` with one uniformly chosen decision moved to a different, uniformly chosen value. */
export function flipOneDecision(decisions: readonly Decision[], a: Architecture, rng: Rng): Architecture {
  const values = [...a.values];
  const i = rng.int(decisions.length);
  const shift = 1 + rng.int(decisions[i].choices.length - 1);
  values[i] = (values[i] + shift) % decisions[i].choices.length;
  return { values };
}
