import { createRng, type OptionSpec, type Rng } from '../../core/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import { coveredProposer } from './coverage.js';
import { EVOLUTION_OPTIONS, tournament, type Member } from './evolution.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

interface ConstrainedEvolutionState {
  rng: number;
  population: Member[];
  /** Every proposal, in order: none is proposed twice while an unproposed one can be found. */
  proposed: number[][];
}

export const CONSTRAINED_EVOLUTION_OPTIONS: readonly OptionSpec[] = EVOLUTION_OPTIONS;

/** One-decision mutants tried per ask before a fresh random architecture stands in. */
const MUTANT_TRIES = 20;
/** Random draws a fresh architecture gets to be feasible and new before any covered one is taken. */
const FRESH_TRIES = 1000;

/** Every change of up to `depth` decisions of `a` other than `fixed`, as value arrays (depth 1 or 2). */
function otherDecisionChanges(space: SearchSpace, a: readonly number[], fixed: number, depth: 1 | 2): number[][] {
  const out: number[][] = [];
  const vary = (values: number[], from: number, left: number) => {
    for (let j = from; j < values.length; j++) {
      if (j === fixed) continue;
      for (let c = 0; c < space.decisions[j].choices.length; c++) {
        if (c === a[j]) continue;
        const next = [...values];
        next[j] = c;
        if (left === 1) out.push(next);
        else vary(next, j + 1, left - 1);
      }
    }
  };
  vary([...a], 0, depth);
  return out;
}

/**
 * Regularized evolution whose proposals stay inside the study's constraints. Under a tight limit
 * the best feasible cells sit at the limit, and plain evolution's one-decision mutants towards
 * them break it, so it settles on feasible local optima (on NAS-Bench-201 CIFAR-10 with
 * latency_ms_pixel3<=6 it ends below random search). Here a mutant that breaks a constraint, or
 * was proposed before, is repaired: the smallest set of further changes (one other decision,
 * else two) that makes it feasible and new, drawn uniformly among all such repairs; that turns
 * "add a costly op" into "add it and pay for it elsewhere". Constraints are on costs, so the
 * checks cost no evaluation. Nothing is proposed twice while something new can be found (a
 * table gives the same value again). Without constraints it is regularized evolution without
 * repeats.
 */
export function constrainedEvolutionController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  const name = 'constrained-evolution';
  checkOptionNames(name, options, CONSTRAINED_EVOLUTION_OPTIONS.map((o) => o.name));
  const size = intOption(options, 'population', 20, 2);
  const sampleSize = intOption(options, 'sampleSize', 5, 1, size);
  const rng: Rng = createRng(seed);
  const propose = coveredProposer(ctx);
  const key = (values: readonly number[]) => space.key({ values });
  const evaluable = (a: Architecture) => space.isValid(a) && ((ctx.feasible ?? ctx.covered)?.(a) ?? true);
  let population: Member[] = [];
  let proposed: number[][] = [];
  let proposedKeys = new Set<string>();
  const fresh = (values: readonly number[]) => !proposedKeys.has(key(values)) && evaluable({ values });

  const drawFresh = (): Architecture => {
    const anyCovered = (pool: readonly Architecture[]) => rng.pick(pool);
    for (let t = 0; t < FRESH_TRIES; t++) {
      const a = propose(() => space.sample(rng), anyCovered);
      if (fresh(a.values)) return a;
    }
    const left = (ctx.candidates ?? []).filter((a) => fresh(a.values));
    // Nothing new was drawn: with no candidate list, a repeat (or an infeasible draw) is all that is left.
    return left.length ? rng.pick(left) : propose(() => space.sample(rng), anyCovered);
  };
  const mutant = (parent: readonly number[]): readonly number[] | undefined => {
    for (let t = 0; t < MUTANT_TRIES; t++) {
      const m = space.mutate({ values: [...parent] }, rng).values;
      if (fresh(m)) return m;
      const changed = m.findIndex((v, i) => v !== parent[i]);
      for (const depth of [1, 2] as const) {
        const repairs = otherDecisionChanges(space, m, changed, depth).filter(fresh);
        if (repairs.length) return rng.pick(repairs);
      }
    }
    return undefined;
  };
  const emit = (a: Architecture): Architecture => {
    const values = [...a.values];
    proposed.push(values);
    proposedKeys.add(key(values));
    return { values };
  };

  return {
    name,
    ask(): Architecture {
      if (population.length < size) return emit(drawFresh());
      const values = mutant(tournament(population, sampleSize, rng).values);
      return emit(values ? { values } : drawFresh());
    },
    tell(a, r) {
      if (!r.feasible) return;
      population.push({ values: [...a.values], score: r.score });
      if (population.length > size) population.shift();
    },
    state: (): ConstrainedEvolutionState => structuredClone({ rng: rng.state(), population, proposed }),
    restore(s) {
      const st = s as Partial<ConstrainedEvolutionState>;
      checkState(name, typeof st?.rng === 'number' && Array.isArray(st.population) && Array.isArray(st.proposed));
      rng.restore(st.rng);
      population = st.population.map((m) => ({ values: [...m.values], score: m.score ?? -Infinity }));
      proposed = st.proposed.map((v) => [...v]);
      proposedKeys = new Set(proposed.map(key));
    },
  };
}
