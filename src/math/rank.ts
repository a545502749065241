import { check } from '../core/errors.js';
import { mean } from './stats.js';

/** 1-based ranks of `x`; ties get their average rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]] === x[order[i]]) j++;
    for (let k = i; k <= j; k++) r[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rho: the Pearson correlation of average ranks; NaN when either side is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x.length === y.length && x.length > 1, 'spearman needs two equally long series of at least 2 values');
  const rx = Array.from(ranks(x));
  const ry = Array.from(ranks(y));
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Kendall's tau-b between two rankings (a pair tied in either list is neither concordant nor discordant). */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a.length === b.length && a.length > 1, 'Kendall tau needs two equally long series of at least 2 values');
  let concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = a[i] - a[j];
      const db = b[i] - b[j];
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da * db > 0) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom === 0 ? 0 : (concordant - discordant) / denom;
}
