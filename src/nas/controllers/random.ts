import { createRng, type OptionSpec } from '../../core/index.js';
import { coveredProposer } from './coverage.js';
import { checkOptionNames, checkState, type Controller, type ControllerContext } from './types.js';

export const RANDOM_OPTIONS: readonly OptionSpec[] = [];

/**
 * Uniform random search (with replacement): the baseline every controller must beat. Uniform
 * over what the study can evaluate: over a partial table's rows.
 */
export function randomController(ctx: ControllerContext): Controller {
  const { space, seed, options } = ctx;
  checkOptionNames('random', options, RANDOM_OPTIONS.map((o) => o.name));
  const rng = createRng(seed);
  const propose = coveredProposer(ctx);
  return {
    name: 'random',
    ask: () => propose(() => space.sample(rng), (pool) => rng.pick(pool)),
    tell() {},
    state: () => ({ rng: rng.state() }),
    restore(s) {
      const st = s as { rng?: unknown };
      checkState('random', typeof st?.rng === 'number');
      rng.restore(st.rng);
    },
  };
}
