import { KilnError, type Rng } from '../../core/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import type { Metrics } from '../evaluators.js';

/** What a controller learns from one trial. */
export interface TrialResult {
  /** Higher is better: the objective (negated when minimizing); -Infinity when infeasible. */
  score: number;
  /** False when the costs broke a constraint; such trials were never evaluated. */
  feasible: boolean;
  /** The costs, plus the evaluator's metrics when feasible. */
  metrics: Metrics;
}

/** Optuna-style sampler: propose with `ask`, learn with `tell`; `state` makes a resume exact. */
export interface Controller {
  readonly name: string;
  ask(): Architecture;
  tell(a: Architecture, r: TrialResult): void;
  /** JSON-serializable snapshot of everything `ask` depends on (rng included). */
  state(): unknown;
  restore(state: unknown): void;
}

export type ControllerOptions = Readonly<Record<string, number | string | boolean>>;

export interface ControllerContext {
  space: SearchSpace;
  seed: number;
  options: ControllerOptions;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;

/** Rejects options a controller does not know, so a typo never passes silently. */
export function checkOptionNames(controller: string, options: ControllerOptions, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint = known.length ? `known: ${known.join(', ')}` : 'it takes no options';
      throw new KilnError(`controller '${controller}' has no option '${key}' (${hint})`);
    }
  }
}

/** An integer option in [min, max], with a default. */
export function intOption(options: ControllerOptions, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = options[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new KilnError(`option '${key}' must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a restored snapshot's shape; a mismatch means a different controller wrote it. */
export function checkState(controller: string, ok: boolean): asserts ok {
  if (!ok) throw new KilnError(`saved state does not belong to controller '${controller}'`);
}

export type { Rng };
