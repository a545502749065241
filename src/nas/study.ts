import { KilnError } from '../core/index.js';
import { createController, controllers, type ControllerOptions, type TrialResult } from './controllers/index.js';
import { createConstraintSet, formatConstraint, parseConstraints, resolveCostModel, type Constraint } from './cost/index.js';
import { createEvaluator, type TrialMetrics } from './evaluators.js';
import { getSpace } from './space/index.js';
import type { Direction, Storage, StudySpec, Trial } from './storage/index.js';
import { loadTable } from './table.js';

/** A run that proposes only infeasible architectures this long is stuck, not unlucky. */
export const MAX_INFEASIBLE_IN_A_ROW = 10_000;

/** A study as a caller describes it; omitted fields take Kiln's defaults. */
export interface StudyConfig {
  name: string;
  space: string;
  objective: string;
  direction?: Direction;
  /** Expressions such as 'latency_ms_pixel3<=6' (several per string with ',' or ';'), or parsed constraints. */
  constraints?: readonly (string | Constraint)[];
  controller?: string;
  controllerOptions?: ControllerOptions;
  evaluator?: string;
  table?: string;
  archColumn?: string;
  seed?: number;
}

export interface RunStudyOptions {
  study: StudyConfig;
  /**
   * Stop once this many trials have been evaluated (complete and feasible). Infeasible
   * trials are recorded but not counted: they cost a cost-model call, not an evaluation.
   */
  budget: number;
  storage: Storage;
  /** Called after each finished trial with the number of evaluated trials so far. */
  onTrial?: (trial: Trial, done: number) => void;
  /** Aborting stops the run after the current trial; the study can be resumed later. */
  signal?: AbortSignal;
}

export interface StudyRun {
  spec: StudySpec;
  /** Every trial of the study, by number (including earlier runs' trials). */
  trials: Trial[];
  best: Trial | undefined;
  /** Evaluated (complete, feasible) trials now in storage. */
  done: number;
  /** True when the signal stopped the run before the budget. */
  stopped: boolean;
  /** True when the study already had trials when this run started. */
  resumed: boolean;
  /** Trials left running by a killed process, now marked failed. */
  interrupted: number;
}

/** Fills defaults and canonicalizes constraints; the result is what storage keeps. */
export function normalizeStudy(config: StudyConfig): StudySpec {
  const constraints = (config.constraints ?? []).flatMap((c) => (typeof c === 'string' ? parseConstraints(c) : [c]));
  const spec: StudySpec = {
    name: config.name,
    space: config.space,
    objective: config.objective,
    direction: config.direction ?? 'max',
    constraints: constraints.map(formatConstraint),
    controller: config.controller ?? 'evolution',
    controllerOptions: { ...(config.controllerOptions ?? {}) },
    evaluator: config.evaluator ?? 'table',
    ...(config.table !== undefined ? { table: config.table, archColumn: config.archColumn ?? 'arch' } : {}),
    seed: config.seed ?? 0,
  };
  if (!/^[\w.-]+$/.test(spec.name)) throw new KilnError(`study name '${spec.name}' may only use letters, digits, '_', '-' and '.'`);
  if (spec.direction !== 'max' && spec.direction !== 'min') throw new KilnError(`direction must be max or min, got '${spec.direction}'`);
  if (!Number.isInteger(spec.seed)) throw new KilnError(`seed must be an integer, got ${spec.seed}`);
  return spec;
}

/** Field-by-field differences between two specs, for a clear resume error. */
function specDiff(a: StudySpec, b: StudySpec): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof StudySpec)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: stored ${JSON.stringify(a[k])}, given ${JSON.stringify(b[k])}`);
}

/**
 * Runs (or resumes) a study until `budget` trials have been evaluated. Each trial: ask the
 * controller, open a running trial, compute the constrained costs (cheap), evaluate only
 * when they are feasible, tell the controller, then store the finished trial together with
 * the controller's state. A resumed study marks trials a killed run left running as failed,
 * restores the controller from the last stored state and asks again, so it continues
 * exactly as an uninterrupted run with the same seed would.
 */
export async function runStudy(opts: RunStudyOptions): Promise<StudyRun> {
  const { storage, budget, signal, onTrial } = opts;
  if (!Number.isInteger(budget) || budget < 1) throw new KilnError(`budget must be a positive integer, got ${budget}`);
  const spec = normalizeStudy(opts.study);
  const space = getSpace(spec.space);
  controllers.get(spec.controller); // an unknown name fails before the table is read
  const table = spec.table !== undefined ? loadTable(spec.table, space, { archColumn: spec.archColumn }) : undefined;
  const evaluator = createEvaluator(spec.evaluator, { space, table });
  if (!evaluator.metrics.includes(spec.objective)) {
    throw new KilnError(`objective '${spec.objective}' is not a metric of evaluator '${evaluator.name}' (metrics: ${evaluator.metrics.join(', ')})`);
  }
  const constraints = createConstraintSet(parseConstraints(spec.constraints), { space, table });
  const controller = createController(spec.controller, space, spec.seed, spec.controllerOptions, {
    cost: (metric) => resolveCostModel(metric, { space, table }),
    // A table-backed study can evaluate only the table's cells.
    feasible: (a) => (!table || table.rowOf(a) >= 0) && constraints.feasible(constraints.costs(a)),
    candidates: table?.archs,
  });

  const stored = storage.getStudy(spec.name);
  if (stored) {
    const diff = specDiff(stored.spec, spec);
    if (diff.length) throw new KilnError(`study '${spec.name}' exists with other settings (${diff.join('; ')}); pick another --study name`);
  } else {
    storage.createStudy(spec);
  }
  const interrupted = storage.failRunning(spec.name, 'interrupted: the run stopped before this trial finished');
  const state = storage.controllerState(spec.name);
  if (state !== undefined) controller.restore(state);
  const previous = storage.trials(spec.name);
  let done = previous.filter((t) => t.state === 'complete' && t.feasible).length;
  let infeasibleRun = 0;
  const sign = spec.direction === 'max' ? 1 : -1;

  while (done < budget && !signal?.aborted) {
    const arch = controller.ask();
    const trial = storage.createTrial(spec.name, space.toString(arch));
    let metrics: TrialMetrics;
    let feasible: boolean;
    try {
      metrics = constraints.costs(arch);
      feasible = constraints.feasible(metrics);
      if (feasible) metrics = { ...metrics, ...(await evaluator.evaluate(arch)) };
    } catch (e) {
      storage.finishTrial(spec.name, trial.number, { state: 'failed', feasible: false, value: null, metrics: {}, error: (e as Error).message });
      throw e;
    }
    const value = feasible ? metrics[spec.objective] : null;
    const result: TrialResult = { score: value === null ? -Infinity : sign * value, feasible, metrics };
    controller.tell(arch, result);
    const finished = storage.finishTrial(spec.name, trial.number, {
      state: 'complete', feasible, value, metrics, controllerState: controller.state(),
    });
    if (feasible) {
      done++;
      infeasibleRun = 0;
    } else if (++infeasibleRun >= MAX_INFEASIBLE_IN_A_ROW) {
      throw new KilnError(`${MAX_INFEASIBLE_IN_A_ROW} infeasible proposals in a row under ${spec.constraints.join(', ')}; loosen the constraints`);
    }
    onTrial?.(finished, done);
    // Table lookups resolve in microtasks; yielding lets signal handlers (Ctrl-C) and output run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const trials = storage.trials(spec.name);
  return {
    spec,
    trials,
    best: bestTrial(trials, spec.direction),
    done,
    stopped: done < budget,
    resumed: previous.length > 0,
    interrupted,
  };
}

/** The complete feasible trial with the best objective (earliest on ties). */
export function bestTrial(trials: readonly Trial[], direction: Direction = 'max'): Trial | undefined {
  let best: Trial | undefined;
  for (const t of trials) {
    if (t.state !== 'complete' || !t.feasible || t.value === null) continue;
    if (!best || (direction === 'max' ? t.value > best.value! : t.value < best.value!)) best = t;
  }
  return best;
}
