import { KilnError, type Rng } from '../../core/index.js';
import type { Architecture, SearchSpace } from '../space/index.js';
import type { TrialMetrics } from '../evaluators.js';
import type { CostModel } from '../cost/index.js';

/** What a controller learns from one trial. */
export interface TrialResult {
  /** Higher is better: the objective (negated when minimizing); -Infinity when infeasible. */
  score: number;
  /** False when the costs broke a constraint; such trials were never evaluated. */
  feasible: boolean;
  /** The costs, plus the evaluator's metrics when feasible. */
  metrics: TrialMetrics;
}

/** Optuna-style sampler: propose with `ask`, learn with `tell`; `state` makes a resume exact. */
export interface Controller {
  readonly name: string;
  ask(): Architecture;
  tell(a: Architecture, r: TrialResult): void;
  /** JSON-serializable snapshot of everything `ask` depends on (rng included). */
  state(): unknown;
  restore(state: unknown): void;
  /**
   * The controller's own recommendation once the search ends (a policy's most likely
   * feasible architecture); controllers without one are judged by their best trial.
   */
  pick?(): Architecture | undefined;
  /** True once a controller with a finite schedule (coarse-to-fine selection) has nothing left to propose. */
  exhausted?(): boolean;
}

export type ControllerOptions = Readonly<Record<string, number | string | boolean>>;

export interface ControllerContext {
  space: SearchSpace;
  seed: number;
  options: ControllerOptions;
  /** The study's cost models by name (table columns, computed and device-set costs), for reward shaping. */
  cost?: (metric: string) => CostModel;
  /** The study's hard constraints: cheap, no evaluation (rejection sampling tests samples with it). */
  feasible?: (a: Architecture) => boolean;
  /** Every architecture the study can evaluate (a benchmark table's rows), when that set is known. */
  candidates?: readonly Architecture[];
  /**
   * Whether the study can evaluate `a` at all (a partial table lacks most of the space);
   * absent when it can evaluate every architecture. `feasible` implies it. Controllers that
   * draw from the whole space re-draw uncovered proposals (see `coveredProposer`).
   */
  covered?: (a: Architecture) => boolean;
}

/** What a study offers controllers besides space, seed and options. */
export type ControllerEnv = Pick<ControllerContext, 'cost' | 'feasible' | 'candidates' | 'covered'>;

export type ControllerFactory = (ctx: ControllerContext) => Controller;

/** Rejects options a controller does not know (names from its option specs), so a typo never passes silently. */
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
