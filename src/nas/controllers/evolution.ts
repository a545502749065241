import { createRng, type OptionSpec, type Rng } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, intOption, type Controller, type ControllerContext } from './types.js';

export interface Member {
  values: number[];
  score: number;
}

interface EvolutionState {
  rng: number;
  population: Member[];
}

export const EVOLUTION_OPTIONS: readonly OptionSpec[] = [
  { name: 'population', type: 'integer', default: 20, min: 2, description: 'members kept; the first ones are random' },
  { name: 'sampleSize', type: 'integer', default: 5, min: 1, description: 'tournament size (at most population)' },
];

/** The best of `sampleSize` members drawn with replacement (ties keep the first drawn). */
export function tournament(population: readonly Member[], sampleSize: number, rng: Rng): Member {
  let best = rng.pick(population);
  for (let k = 1; k < sampleSize; k++) {
    const m = rng.pick(population);
    if (m.score > best.score) best = m;
  }
  return best;
}

/**
 * Regularized evolution (Real et al. 2019): until the population holds `population` members,
 * ask random architectures; then draw `sampleSize` members with replacement, mutate one
 * decision of the best, and when its result is told add the child and drop the oldest member.
 * Infeasible results are rejected (never enter the population): they cost no evaluation,
 * and as parents they could only waste tournaments. On a partial table, draws and mutations
 * outside it are re-drawn; a parent without a covered mutant in 100 draws gives way to a
 * random covered architecture.
 */
export function evolutionController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  checkOptionNames('evolution', options, EVOLUTION_OPTIONS.map((o) => o.name));
  const size = intOption(options, 'population', 20, 2);
  const sampleSize = intOption(options, 'sampleSize', 5, 1, size);
  const rng = createRng(seed);
  const propose = coveredProposer(ctx);
  const anyCovered = (pool: readonly Architecture[]) => rng.pick(pool);
  let population: Member[] = [];

  return {
    name: 'evolution',
    ask(): Architecture {
      if (population.length < size) return propose(() => space.sample(rng), anyCovered);
      const parent = { values: tournament(population, sampleSize, rng).values };
      return propose(() => space.mutate(parent, rng), anyCovered);
    },
    tell(a, r) {
      if (!r.feasible) return;
      population.push({ values: [...a.values], score: r.score });
      if (population.length > size) population.shift();
    },
    state: (): EvolutionState => ({ rng: rng.state(), population: population.map((m) => ({ ...m, values: [...m.values] })) }),
    restore(s) {
      const st = s as Partial<EvolutionState>;
      checkState('evolution', typeof st?.rng === 'number' && Array.isArray(st.population));
      rng.restore(st.rng);
      // JSON turns -Infinity into null; members are feasible, so scores are finite anyway.
      population = st.population.map((m) => ({ values: [...m.values], score: m.score ?? -Infinity }));
    },
  };
}
