import { meanCI } from '../src/math/index.js';

/** `mean ± half-width` of the 95% confidence interval, two decimals, as bench tables print it. */
export function meanCiText(xs: readonly number[]): string {
  const ci = meanCI(xs);
  return `${ci.mean.toFixed(2)} ± ${ci.half.toFixed(2)}`;
}
