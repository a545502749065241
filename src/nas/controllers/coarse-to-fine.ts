import { createRng, KilnError, type OptionSpec } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

export const COARSE_TO_FINE_OPTIONS: readonly OptionSpec[] = [
  { name: 'coarse', type: 'integer', default: 12, min: 0, description: 'random feasible children scored first' },
  { name: 'fine', type: 'integer', default: 8, min: 0, description: 'one-decision mutations of the best child' },
  { name: 'costMetric', type: 'string', description: 'cost that breaks ties on the score (the larger wins)' },
];

interface CoarseToFineState {
  rng: number;
  started: boolean;
  tries: number;
  found: number;
  fineDone: number;
  best: number[] | null;
  /** Score and cost of `best` (0 while there is none: the state is JSON, which has no -Infinity). */
  bestScore: number;
  bestCost: number;
  seen: string[];
  /** The next proposal, once computed (`exhausted` looks ahead); null when there is none. */
  next: number[] | null | undefined;
}

/**
 * BigNAS coarse-to-fine selection as a controller: the smallest child first, then `coarse`
 * random feasible children (at most 50x as many draws), then `fine` one-decision mutations of
 * the best so far; infeasible draws and children already scored are skipped without a trial.
 * On a partial table, draws and mutations outside it are re-drawn (see `coveredProposer`; a
 * mutation that keeps missing gives way to a random child in the table).
 * Ties on the score go to the child with the higher `costMetric` when one is named (more
 * capacity within the limit), else to the earlier child. A finite schedule: `exhausted` says when it is done; `pick` is the best child.
 * Asks and tells must alternate (a fine mutation starts from the best told so far).
 */
export function coarseToFineController(ctx: ControllerContext): Controller {
  const { space, seed, options, feasible = () => true, covered = () => true } = ctx;
  checkOptionNames('coarse-to-fine', options, COARSE_TO_FINE_OPTIONS.map((o) => o.name));
  const coarse = intOption(options, 'coarse', 12, 0);
  const fine = intOption(options, 'fine', 8, 0);
  const costMetric = options.costMetric;
  if (costMetric !== undefined && typeof costMetric !== 'string') throw new KilnError(`option 'costMetric' must be a metric name, got ${JSON.stringify(costMetric)}`);
  const rng = createRng(seed);
  const propose = coveredProposer(ctx);
  const anyCovered = (pool: readonly Architecture[]) => rng.pick(pool);
  const smallest: Architecture = { values: space.decisions.map(() => 0) };
  let s: Omit<CoarseToFineState, 'rng'> = {
    started: false, tries: 0, found: 0, fineDone: 0, best: null, bestScore: 0, bestCost: 0, seen: [], next: undefined,
  };
  let seen = new Set<string>();

  const fresh = (a: Architecture) => feasible(a) && !seen.has(space.key(a));
  const advance = (): Architecture | null => {
    if (!s.started) {
      s.started = true;
      // A partial table may lack the smallest child; the random children come next anyway.
      if (covered(smallest)) return smallest;
    }
    while (s.found < coarse && s.tries < coarse * 50) {
      s.tries++;
      const a = propose(() => space.sample(rng), anyCovered);
      if (!feasible(a)) continue;
      s.found++;
      if (fresh(a)) return a;
    }
    while (s.fineDone < fine) {
      s.fineDone++;
      const parent = s.best ? { values: s.best } : smallest;
      const a = propose(() => space.mutate(parent, rng), anyCovered);
      if (fresh(a)) return a;
    }
    return null;
  };
  const peek = (): number[] | null => {
    if (s.next === undefined) {
      const a = advance();
      s.next = a ? [...a.values] : null;
    }
    return s.next;
  };

  return {
    name: 'coarse-to-fine',
    ask() {
      const next = peek();
      if (next === null) throw new KilnError('coarse-to-fine selection has nothing left to propose');
      s.next = undefined;
      const a = { values: [...next] };
      seen.add(space.key(a));
      return a;
    },
    tell(a, r) {
      if (!r.feasible) return;
      const cost = costMetric === undefined ? 0 : r.metrics[costMetric];
      if (cost === undefined) throw new KilnError(`coarse-to-fine: trial metrics have no '${costMetric}'`);
      if (s.best === null || r.score > s.bestScore || (r.score === s.bestScore && cost > s.bestCost)) {
        s.best = [...a.values];
        s.bestScore = r.score;
        s.bestCost = cost;
      }
    },
    state: (): CoarseToFineState => structuredClone({ ...s, rng: rng.state(), seen: [...seen] }),
    restore(state) {
      const st = state as CoarseToFineState;
      checkState('coarse-to-fine', typeof st?.rng === 'number' && Array.isArray(st.seen) && typeof st.started === 'boolean');
      const { rng: saved, ...rest } = structuredClone(st);
      rng.restore(saved);
      s = rest;
      seen = new Set(st.seen);
    },
    pick: () => (s.best ? { values: [...s.best] } : undefined),
    exhausted: () => peek() === null,
  };
}
