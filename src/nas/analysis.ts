import { isEvaluated, type Direction, type Trial } from './storage/index.js';

/**
 * Best feasible objective after each evaluated trial, in trial order: entry k is the best of the
 * first k + 1 evaluations, the unit a study's budget counts. An evaluation whose outcome broke a
 * constraint takes a step without improving the best; trials whose costs broke one (never
 * evaluated) and failed ones (rerun) take no step.
 */
export function bestSoFar(trials: readonly Trial[], direction: Direction = 'max'): number[] {
  const out: number[] = [];
  let best = direction === 'max' ? -Infinity : Infinity;
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    if (!isEvaluated(t)) continue;
    if (t.feasible && t.value !== null) best = direction === 'max' ? Math.max(best, t.value) : Math.min(best, t.value);
    out.push(best);
  }
  return out;
}

/** How many evaluations it took to reach `target` (>= for max, <= for min); null if never. */
export function trialsToReach(trials: readonly Trial[], target: number, direction: Direction = 'max'): number | null {
  const curve = bestSoFar(trials, direction);
  const i = curve.findIndex((v) => (direction === 'max' ? v >= target : v <= target));
  return i < 0 ? null : i + 1;
}

/**
 * Indices of the non-dominated points: no other point is at least as good in every
 * objective and better in one. `directions[k]` says whether objective k is maximized.
 */
export function paretoFront(points: readonly (readonly number[])[], directions: readonly Direction[]): number[] {
  const better = (a: readonly number[], b: readonly number[]) => {
    let strictly = false;
    for (let k = 0; k < directions.length; k++) {
      const d = directions[k] === 'max' ? a[k] - b[k] : b[k] - a[k];
      if (d < 0) return false;
      if (d > 0) strictly = true;
    }
    return strictly;
  };
  return points.map((_, i) => i).filter((i) => !points.some((q, j) => j !== i && better(q, points[i])));
}
