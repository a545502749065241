import type { ThreatNorm } from './attacks.js';

/**
 * FAB's projection step (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast
 * adaptive boundary attack"; reference code fra31/auto-attack, fab_projections.py): the smallest
 * perturbation d, in the Linf, L2 or L1 norm, that takes a point t onto the hyperplane w.z = b while
 * t + d stays in the box [0, 1]^D. When no point of the box reaches the hyperplane, d moves every
 * coordinate as far as the box allows toward it (the reference's answer too).
 *
 * Every norm solves the same problem: reduce c = |w.t - b| to 0, coordinate i moving toward the
 * bound that lowers it (0 when w_i pushes up, 1 otherwise), at most p_i (its distance to that bound).
 * The reference does this with vectorised sorts and a bisection; here one row at a time, sorted once.
 */


/** Writes into `d` the minimal-norm move of `t` onto {z : w.z = b} within [0, 1]^D. */
export function projectOntoHyperplane(norm: ThreatNorm, t: Float32Array, w: Float32Array, b: number, d: Float32Array): void {
  const n = t.length;
  let dot = 0;
  for (let i = 0; i < n; i++) dot += w[i] * t[i];
  // Orient the hyperplane so t is on its positive side: c >= 0 is what the move must remove.
  const flip = dot - b >= 0 ? 1 : -1;
  const c = (dot - b) * flip;
  d.fill(0);
  if (c === 0) return;
  const active: number[] = [];
  const weight = new Float64Array(n); // |w_i| after orientation
  const room = new Float64Array(n); // p_i: how far coordinate i can move toward its bound
  const toward = new Int8Array(n); // -1: toward 0, +1: toward 1
  let reachable = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i] * flip;
    if (Math.abs(wi) < 1e-12) continue;
    weight[i] = Math.abs(wi);
    toward[i] = wi > 0 ? -1 : 1;
    room[i] = wi > 0 ? t[i] : 1 - t[i];
    reachable += weight[i] * room[i];
    active.push(i);
  }
  if (reachable <= c) {
    for (const i of active) d[i] = toward[i] * room[i];
    return;
  }
  if (norm === 'l1') {
    // Cheapest per unit of L1: the coordinates with the largest |w_i| first, the last one partly.
    active.sort((i, j) => weight[j] - weight[i]);
    let left = c;
    for (const i of active) {
      const step = Math.min(room[i], left / weight[i]);
      d[i] = toward[i] * step;
      left -= weight[i] * step;
      if (left <= 0) break;
    }
    return;
  }
  // Linf: every coordinate moves min(lambda, p_i); L2: min(alpha |w_i|, p_i). Coordinate i saturates
  // at s_i = p_i (Linf) or p_i / |w_i| (L2); the removed amount is piecewise linear in the radius.
  const saturation = (i: number) => (norm === 'linf' ? room[i] : room[i] / weight[i]);
  const slope = (i: number) => (norm === 'linf' ? weight[i] : weight[i] * weight[i]);
  active.sort((i, j) => saturation(i) - saturation(j));
  let done = 0; // removed by saturated coordinates
  let rate = 0; // removal per unit radius of the unsaturated ones
  for (const i of active) rate += slope(i);
  let radius = 0;
  for (const i of active) {
    const s = saturation(i);
    if (done + rate * s >= c) break;
    done += weight[i] * room[i];
    rate -= slope(i);
    radius = s;
  }
  radius = rate > 0 ? Math.max(radius, (c - done) / rate) : radius;
  for (const i of active) {
    const move = norm === 'linf' ? radius : radius * weight[i];
    d[i] = toward[i] * Math.min(move, room[i]);
  }
}

/** The norm of a vector (of the perturbation `a - b` when `b` is given). */
export function vectorNorm(norm: ThreatNorm, a: Float32Array, b?: Float32Array): number {
  let out = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(b ? a[i] - b[i] : a[i]);
    if (norm === 'linf') out = Math.max(out, v);
    else out += norm === 'l2' ? v * v : v;
  }
  return norm === 'l2' ? Math.sqrt(out) : out;
}
