import { KilnError } from '../../core/index.js';
import type { Architecture } from '../space/index.js';
import type { ControllerContext } from './types.js';

/** Draws a proposal gets before the controller picks from the study's candidates instead. */
export const COVERED_TRIES = 100;

/** Draws one architecture; `fallback` picks one of the covered candidates (`pool`) the same way. */
export type CoveredProposer = (draw: () => Architecture, fallback: (pool: readonly Architecture[]) => Architecture) => Architecture;

/**
 * Proposals the study can evaluate, for controllers that draw from the whole space. `draw`
 * repeats until `ctx.covered` accepts its result: rejection sampling, so a proposal follows the
 * draw's distribution conditioned on coverage. After COVERED_TRIES misses (a sparse table),
 * `fallback` picks from the covered candidates, which gives the same conditional distribution
 * when it samples the draw's law restricted to them (uniform for uniform draws). A study that
 * covers every architecture accepts the first draw, so the random stream is unchanged.
 */
export function coveredProposer(ctx: ControllerContext): CoveredProposer {
  const { covered, candidates, space } = ctx;
  let pool: Architecture[] | undefined;
  return (draw, fallback) => {
    for (let tries = 0; tries < COVERED_TRIES; tries++) {
      const a = draw();
      if (!covered || covered(a)) return a;
    }
    pool ??= (candidates ?? []).filter((a) => space.isValid(a) && covered!(a));
    if (!pool.length) throw new KilnError(`${COVERED_TRIES} proposals in a row were architectures the study cannot evaluate, and it lists none it can`);
    return fallback(pool);
  };
}
