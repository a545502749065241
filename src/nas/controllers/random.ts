import { createRng, type OptionSpec } from '../../core/index.js';
import { checkOptionNames, checkState, type Controller, type ControllerContext } from './types.js';

export const RANDOM_OPTIONS: readonly OptionSpec[] = [];

/** Uniform random search (with replacement): the baseline every controller must beat. */
export function randomController({ space, seed, options }: ControllerContext): Controller {
  checkOptionNames('random', options, RANDOM_OPTIONS.map((o) => o.name));
  const rng = createRng(seed);
  return {
    name: 'random',
    ask: () => space.sample(rng),
    tell() {},
    state: () => ({ rng: rng.state() }),
    restore(s) {
      const st = s as { rng?: unknown };
      checkState('random', typeof st?.rng === 'number');
      rng.restore(st.rng);
    },
  };
}
