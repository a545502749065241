import type { OptionSpec } from '../../core/index.js';
import { median } from '../../math/index.js';
import { cholesky } from '../../math/linalg.js';
import type { SearchSpace } from '../space/index.js';
import { numberOption } from './policy.js';
import { hillClimber } from './local-search.js';
import { checkOptionNames, intOption, type Controller, type ControllerContext } from './types.js';

export const GUIDED_LOCAL_SEARCH_OPTIONS: readonly OptionSpec[] = [
  { name: 'init', type: 'integer', default: 10, min: 1, description: 'random architectures before the first climb, which starts from their best' },
  { name: 'lambda', type: 'number', default: 1, min: 0, description: 'ridge penalty of the one-hot linear model that orders neighbours' },
  { name: 'escape', type: 'integer', default: 20, min: 0, description: 'two-decision neighbours a local optimum tries, best predicted first, before a restart' },
];

/**
 * Ridge regression of the score on the one-hot encoding, kept as running sums so each result
 * costs O(d^2) and a fit one d x d Cholesky solve (d = 30 on NAS-Bench-201): cheap enough to
 * refit before every proposal. Infeasible results (no score) are left out.
 */
function ridgeModel(space: SearchSpace, lambda: number) {
  const d = space.encode({ values: space.decisions.map(() => 0) }).length;
  let n = 0;
  let sy = 0;
  let sx = new Float64Array(d);
  let sxx = new Float64Array(d * d);
  let sxy = new Float64Array(d);
  let weights: Float64Array | null = null;

  const add = (values: readonly number[], y: number) => {
    const x = space.encode({ values });
    n++;
    sy += y;
    for (let i = 0; i < d; i++) {
      if (x[i] === 0) continue;
      sx[i] += x[i];
      sxy[i] += x[i] * y;
      for (let j = 0; j < d; j++) sxx[i * d + j] += x[i] * x[j];
    }
    weights = null;
  };
  /** Centered normal equations (the intercept is not penalized): (Sxx - sx sx^T / n + lambda I) w = Sxy - sx sy / n. */
  const fit = (): Float64Array | null => {
    if (n < 2) return null;
    const a = new Float64Array(d * d);
    const b = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      b[i] = sxy[i] - (sx[i] * sy) / n;
      for (let j = 0; j < d; j++) a[i * d + j] = sxx[i * d + j] - (sx[i] * sx[j]) / n + (i === j ? lambda : 0);
    }
    // lambda = 0 on too few results leaves a singular system: a tiny ridge keeps it solvable.
    const l = cholesky({ n: d, data: a }) ?? cholesky({ n: d, data: a.map((v, k) => v + (k % (d + 1) === 0 ? 1e-6 : 0)) });
    if (!l) return null;
    const z = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let v = b[i];
      for (let k = 0; k < i; k++) v -= l.data[i * d + k] * z[k];
      z[i] = v / l.data[i * d + i];
    }
    const w = new Float64Array(d);
    for (let i = d - 1; i >= 0; i--) {
      let v = z[i];
      for (let k = i + 1; k < d; k++) v -= l.data[k * d + i] * w[k];
      w[i] = v / l.data[i * d + i];
    }
    return w;
  };
  return {
    reset() {
      n = 0;
      sy = 0;
      sx = new Float64Array(d);
      sxx = new Float64Array(d * d);
      sxy = new Float64Array(d);
      weights = null;
    },
    add,
    /** Predicted score up to a constant (enough to rank), or null before two results. */
    predict(values: readonly number[]): number | null {
      weights ??= fit();
      if (!weights) return null;
      const x = space.encode({ values });
      let v = 0;
      for (let i = 0; i < d; i++) v += weights[i] * x[i];
      return v;
    },
  };
}

/** Index of the highest prediction (the first on ties, so the seeded order breaks them); 0 without a model. */
function argmaxPredicted(model: ReturnType<typeof ridgeModel>, items: readonly (readonly number[])[]): number {
  let best = 0;
  let top = -Infinity;
  for (let i = 0; i < items.length; i++) {
    const p = model.predict(items[i]);
    if (p === null) return 0;
    if (p > top) [best, top] = [i, p];
  }
  return best;
}

/**
 * Predictor-guided local search: the `local-search` walk (first improvement over one-decision
 * neighbours, never repeating), but it tries the untried neighbours in the order a ridge
 * regression on the one-hot encoding, refitted on every result so far (scores floored at the
 * initial sample's median), predicts best first. The model only orders proposals, so a climb
 * still stops exactly at a true local optimum. (Restarting from the predicted best of many random
 * cells was tried: the model sends restarts back into the basin already climbed.)
 * The model also steers random restarts back into known basins, so many climbs end at the same few
 * local optima, and the best cell can sit two decisions beyond one (on NAS-Bench-201 ImageNet16-120
 * the best cell is two edges from the local optimum most climbs end at): so before restarting, a local optimum tries up to
 * `escape` of its two-decision neighbours in the model's order, and a later climb that ends there
 * tries those not proposed yet. Each visit adds tries where the climbs keep ending.
 */
export function guidedLocalSearchController(ctx: ControllerContext): Controller {
  const { space, options } = ctx;
  checkOptionNames('guided-local-search', options, GUIDED_LOCAL_SEARCH_OPTIONS.map((o) => o.name));
  const init = intOption(options, 'init', 10, 1);
  const lambda = numberOption(options, 'lambda', 1, 0);
  const escape = intOption(options, 'escape', 20, 0);
  const model = ridgeModel(space, lambda);
  // Scores below the initial sample's median are raised to it: the model has to rank good cells, and
  // broken ones (NAS-Bench-201's disconnected cells score 10%) would otherwise dominate a linear fit.
  let floor: number | undefined;
  return hillClimber('guided-local-search', ctx, init, {
    choose: (queue) => argmaxPredicted(model, queue),
    escape,
    learn(observed, from) {
      if (from === 0) {
        model.reset();
        floor = undefined;
      }
      if (floor === undefined) {
        const first = observed.filter((o) => Number.isFinite(o.score)).slice(0, init);
        if (first.length < init) return;
        floor = median(first.map((o) => o.score));
        from = 0;
      }
      for (const o of observed.slice(from)) if (Number.isFinite(o.score)) model.add(o.values, Math.max(o.score, floor));
    },
  });
}
