/**
 * Euclidean projection of a perturbation onto the intersection of the L1 ball of radius eps and the
 * box that keeps the image in [0, 1] (Croce & Hein 2021, "Mind the box: l1-APGD for sparse
 * adversarial attacks on image classifiers", Lemma 1; reference code: fra31/auto-attack,
 * autopgd_base.py, L1_projection). The projection of delta is, per coordinate,
 *   d_i = sign(delta_i) * min(max(|delta_i| - lambda, 0), room_i),
 * room_i the distance from x_i to the bound delta_i points at (1 - x_i, or x_i), with the smallest
 * lambda >= 0 that brings sum |d_i| to eps or under. Found exactly by sweeping the sorted breakpoints
 * of that piecewise linear sum.
 */
export function projectL1Box(x: Float32Array, delta: Float32Array, eps: number): Float32Array {
  const n = x.length;
  const out = new Float32Array(n);
  const magnitude = new Float64Array(n);
  const room = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    magnitude[i] = Math.abs(delta[i]);
    room[i] = delta[i] > 0 ? 1 - x[i] : x[i];
    total += Math.min(magnitude[i], Math.max(room[i], 0));
  }
  const lambda = total <= eps ? 0 : shrinkage(magnitude, room, total, eps);
  for (let i = 0; i < n; i++) {
    const kept = Math.min(Math.max(magnitude[i] - lambda, 0), Math.max(room[i], 0));
    out[i] = Math.sign(delta[i]) * kept;
  }
  return out;
}

/**
 * The lambda where sum_i min(max(m_i - lambda, 0), r_i) falls to eps: coordinate i decreases at slope
 * 1 on [max(m_i - r_i, 0), m_i] and is flat elsewhere; `total` is the sum at lambda = 0 (> eps).
 */
function shrinkage(magnitude: Float64Array, room: Float64Array, total: number, eps: number): number {
  // Breakpoints: where a coordinate starts shrinking (+1 to the slope) and where it reaches 0 (-1).
  const points: number[] = [];
  const slopes: number[] = [];
  for (let i = 0; i < magnitude.length; i++) {
    const r = Math.max(room[i], 0);
    if (magnitude[i] === 0 || r === 0) continue;
    points.push(Math.max(magnitude[i] - r, 0), magnitude[i]);
    slopes.push(1, -1);
  }
  const order = Array.from(points.keys()).sort((a, b) => points[a] - points[b]);
  let sum = total;
  let at = 0;
  let active = 0;
  for (const k of order) {
    const next = sum - active * (points[k] - at);
    if (next <= eps) return at + (sum - eps) / active;
    sum = next;
    at = points[k];
    active += slopes[k];
  }
  // The sum is 0 past the last breakpoint, so the loop returns unless rounding left it a hair above eps.
  return at;
}
