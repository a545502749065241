import fs from 'node:fs';
import { KilnError, checkOptions, fileSha256, withDefaults, type OptionValue } from '../core/index.js';
import { createController, controllers, type Controller, type ControllerOptions } from './controllers/index.js';
import {
  createConstraintSet, formatConstraint, parseConstraints, resolveCostModel, type Constraint, type ConstraintSet, type CostContext, type CostModel,
} from './cost/index.js';
import { removeTrialArtifacts, writeTrialArtifacts } from './artifacts.js';
import { createEvaluator, evaluatorOptions, type Evaluator, type TrialMetrics } from './evaluators.js';
import { getSpace, type Architecture, type SearchSpace } from './space/index.js';
import { isEvaluated, TrialNotRunningError, workerId, type Direction, type StateSlot, type Storage, type StudySpec, type Trial } from './storage/index.js';
import { loadTable, type BenchmarkTable } from './table.js';

/** A run that proposes only infeasible architectures this long is stuck, not unlucky. */
export const MAX_INFEASIBLE_IN_A_ROW = 10_000;

/** Controllers keep to what the study can evaluate, so this many misses in a row is a broken controller. */
export const MAX_NOT_EVALUABLE_IN_A_ROW = 1000;

/** How long a worker may go without a heartbeat before its running trial is failed and retried. */
export const DEFAULT_GRACE_MS = 60_000;
/** How often a running study refreshes its trials' heartbeat. */
export const DEFAULT_HEARTBEAT_MS = 10_000;
/** How long a worker waits before asking again while other workers' running trials hold the rest of the budget. */
const WAIT_MS = 50;

/**
 * A trial the study could not evaluate (its architecture is outside a partial table): stored
 * complete and infeasible, never evaluated, not counted in the budget, its reason in `error`
 * (the only complete trials that carry one).
 */
export function isNotEvaluable(t: Trial): boolean {
  return t.state === 'complete' && t.error !== null;
}

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
  /** Options the evaluator declares (see `evaluatorOptions`); unknown names and bad values are KilnErrors. */
  evaluatorOptions?: Readonly<Record<string, OptionValue>>;
  table?: string;
  archColumn?: string;
  seed?: number;
}

/** Everything `openStudy` needs: the study, where it lives, and what the caller builds itself. */
export interface OpenStudyOptions {
  study: StudyConfig;
  storage: Storage;
  /** The space itself, when the caller built a variant of the registered one (a supernet's own widths or backbone). */
  space?: SearchSpace;
  /**
   * A controller or evaluator the caller built (a one-shot search's, which needs its supernet);
   * the spec still names them. Without one, the registries build them from the spec's names.
   */
  controller?: Controller;
  evaluator?: Evaluator;
  /** Costs the caller computes (a supernet's params or MFLOPs), for constraints and reward shaping. */
  costs?: readonly CostModel[];
  /**
   * False when the caller restores the controller itself (a one-shot search restores it from
   * its supernet checkpoint, together with the weights); true by default: from the storage.
   * Only a study whose controller lives in the storage can be shared by several workers.
   */
  restoreController?: boolean;
  /** This worker's id (owner of the trials it reserves); default `workerId()`. */
  worker?: string;
  /** Another worker's running trial is failed and retried once its heartbeat is this old; default DEFAULT_GRACE_MS. */
  graceMs?: number;
  /**
   * Folder where evaluated trials keep their files (ARTIFACTS/STUDY/trial-N, see `writeTrialArtifacts`);
   * without it the evaluator is given none and keeps nothing.
   */
  artifacts?: string;
}

export interface RunStudyOptions extends OpenStudyOptions, StudyRunOptions {}

export interface StudyRunOptions {
  /**
   * Stop once this many trials have been evaluated (complete and feasible). Infeasible and
   * not-evaluable trials are recorded but not counted: they cost no evaluation.
   */
  budget: number;
  /** Called after each finished trial with the number of evaluated trials so far. */
  onTrial?: (trial: Trial, done: number) => void;
  /** Aborting stops the run after the current trial; the study can be resumed later. */
  signal?: AbortSignal;
  /** How often the running trial's heartbeat is refreshed; default DEFAULT_HEARTBEAT_MS (keep it well under the grace). */
  heartbeatMs?: number;
}

export interface StudyRun {
  spec: StudySpec;
  /** Every trial of the study, by number (including earlier runs' trials). */
  trials: Trial[];
  best: Trial | undefined;
  /** Evaluated (complete, feasible) trials now in storage. */
  done: number;
  /** True when the signal stopped the run before the budget (and before the controller ran out). */
  stopped: boolean;
  /** True when the study already had trials when this run started. */
  resumed: boolean;
  /** Trials left running by a killed process (or a worker whose heartbeat expired), now marked failed. */
  interrupted: number;
}

/** A trial asked for and stored as running, not yet told. */
export interface PendingTrial {
  readonly number: number;
  readonly arch: Architecture;
}

/**
 * An open study (Optuna's study with its sampler): `ask` stores a running trial, `tell` finishes
 * it and stores it together with the controller's state, so every trial is in storage the moment
 * it ends. `trial` is one ordinary trial (costs, then evaluation when feasible); `run` repeats it.
 */
export interface Study {
  readonly spec: StudySpec;
  readonly storage: Storage;
  readonly space: SearchSpace;
  readonly table?: BenchmarkTable;
  readonly controller: Controller;
  readonly evaluator: Evaluator;
  readonly constraints: ConstraintSet;
  /** True when the study already had trials when it was opened. */
  readonly resumed: boolean;
  /** Trials left running by a killed process, marked failed on opening. */
  readonly interrupted: number;
  /** The owner of the trials this study object reserves. */
  readonly worker: string;
  /** Reserves a trial without a budget (see `reserve`). */
  ask(): PendingTrial;
  /**
   * Reserves the next trial if the budget allows (evaluated plus running trials below it), in one
   * storage transaction: a re-queued architecture of a dead worker first, else the controller's
   * proposal from the study's shared state. Otherwise says whether the budget is reached (`done`)
   * or other workers' running trials hold the rest of it.
   */
  reserve(budget?: number): { pending: PendingTrial; evaluated: number; expired: number } | { pending: undefined; done: boolean; evaluated: number; expired: number };
  /**
   * Finishes a trial from its metrics (costs, plus the evaluator's when evaluated): feasible when
   * they meet the constraints, valued by the objective. `learn: false` stores it without telling
   * the controller (a one-shot search's warm-up steps).
   */
  tell(t: PendingTrial, metrics: TrialMetrics, opts?: { learn?: boolean }): Trial;
  fail(t: PendingTrial, error: string): Trial;
  /**
   * Finishes a trial the study cannot evaluate (see `isNotEvaluable`): the controller is told
   * it was infeasible, so its state moves on as after any other trial.
   */
  skip(t: PendingTrial, reason: string): Trial;
  /** Why the study cannot evaluate `a` (outside the table, or the evaluator's coverage); undefined when it can. */
  notEvaluable(a: Architecture): string | undefined;
  /** One trial: ask, then `evaluate`. */
  trial(signal?: AbortSignal): Promise<Trial>;
  /**
   * Not-evaluable check, constrained costs (cheap), evaluation only when feasible, tell. A trial
   * another worker failed meanwhile (this worker's heartbeat expired) comes back failed, untold.
   */
  evaluate(t: PendingTrial, signal?: AbortSignal): Promise<Trial>;
  /** Runs (or resumes) until `budget` trials are evaluated, the signal aborts, or the controller runs out. */
  run(opts: StudyRunOptions): Promise<StudyRun>;
  trials(): Trial[];
  /** Complete feasible trials in storage. */
  evaluated(): number;
  best(): Trial | undefined;
  /**
   * Keeps the first `keep` complete trials and marks every later one failed with `reason`:
   * a search resumed from an older checkpoint redoes those trials instead of keeping them twice.
   */
  rewind(keep: number, reason: string): number;
}

/** Fills defaults and canonicalizes constraints; the result is what storage keeps. */
export function normalizeStudy(config: StudyConfig): StudySpec {
  const constraints = (config.constraints ?? []).flatMap((c) => (typeof c === 'string' ? parseConstraints(c) : [c]));
  const evaluator = config.evaluator ?? 'table';
  const optionSpecs = evaluatorOptions(evaluator);
  const given = checkOptions(`evaluator '${evaluator}'`, optionSpecs, config.evaluatorOptions ?? {});
  const spec: StudySpec = {
    name: config.name,
    space: config.space,
    objective: config.objective,
    direction: config.direction ?? 'max',
    constraints: constraints.map(formatConstraint),
    controller: config.controller ?? 'evolution',
    controllerOptions: { ...(config.controllerOptions ?? {}) },
    evaluator,
    // Stored with defaults filled in, so a later change of a default cannot change a running study.
    ...(optionSpecs.length ? { evaluatorOptions: withDefaults(optionSpecs, given) } : {}),
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
    // Studies made before tables were fingerprinted have no hash to compare.
    .filter((k) => !(k === 'tableSha256' && a[k] === undefined))
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .flatMap((k) => (k === 'tableSha256'
      ? [`the table's content changed since the study began (sha256 ${a[k]!.slice(0, 12)}... then, ${b[k]?.slice(0, 12)}... now)`]
      : k === 'evaluatorOptions' && a[k] && b[k] ? optionsDiff(a[k], b[k])
        : [`${k}: stored ${JSON.stringify(a[k])}, given ${JSON.stringify(b[k])}`]));
}

/** 'evaluator option steps: stored 50, given 80' for each option that differs. */
function optionsDiff(a: Readonly<Record<string, OptionValue>>, b: Readonly<Record<string, OptionValue>>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => a[k] !== b[k])
    .map((k) => `evaluator option ${k}: stored ${JSON.stringify(a[k])}, given ${JSON.stringify(b[k])}`);
}

function checkBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget < 1) throw new KilnError(`budget must be a positive integer, got ${budget}`);
}


/**
 * Opens a study: builds its space, table, evaluator, constraints and controller from the spec
 * (or takes the caller's), then creates it in storage or resumes it. A resumed study must
 * present the stored spec; trials a killed run left running are marked failed, and the
 * controller continues from the last stored state, so a resumed run proposes exactly what an
 * uninterrupted run with the same seed would.
 */
export function openStudy(opts: OpenStudyOptions): Study {
  const { storage } = opts;
  const spec = normalizeStudy(opts.study);
  const space = opts.space ?? getSpace(spec.space);
  if (!opts.controller) controllers.get(spec.controller); // an unknown name fails before the table is read
  const table = spec.table !== undefined ? loadTable(spec.table, space, { archColumn: spec.archColumn }) : undefined;
  if (spec.table !== undefined) spec.tableSha256 = fileSha256(spec.table);
  const evaluator = opts.evaluator ?? createEvaluator(spec.evaluator, { space, table, options: spec.evaluatorOptions });
  if (!evaluator.metrics.includes(spec.objective)) {
    throw new KilnError(`objective '${spec.objective}' is not a metric of evaluator '${evaluator.name}' (metrics: ${evaluator.metrics.join(', ')})`);
  }
  const ctx: CostContext = { space, table, models: [...(opts.costs ?? []), ...(evaluator.costs ?? [])] };
  const constraints = createConstraintSet(parseConstraints(spec.constraints), ctx);
  // A table-backed study can evaluate only the table's rows (table costs exist only there),
  // and only what the evaluator covers; the table may hold any part of the space.
  const notEvaluable = (a: Architecture): string | undefined => {
    if (table && table.rowOf(a) < 0) return `not in table ${table.source}`;
    if (evaluator.covers && !evaluator.covers(a)) return `evaluator '${evaluator.name}' does not cover it`;
    return undefined;
  };
  const evaluable = (a: Architecture) => notEvaluable(a) === undefined;
  const partial = table !== undefined || evaluator.covers !== undefined;
  const controller = opts.controller ?? createController(spec.controller, space, spec.seed, spec.controllerOptions, {
    cost: (metric) => resolveCostModel(metric, ctx),
    // Costs only: a controller never learns an outcome (accuracy) it did not pay an evaluation for.
    feasible: (a) => evaluable(a) && constraints.feasibleCosts(constraints.costs(a)),
    candidates: table?.archs ?? evaluator.candidates,
    ...(partial ? { covered: evaluable } : {}),
  });

  let stored = storage.getStudy(spec.name);
  if (!stored) {
    try {
      storage.createStudy(spec);
    } catch (e) {
      // Another process created it in between: join it like any existing study.
      stored = storage.getStudy(spec.name);
      if (!stored) throw e;
    }
  }
  if (stored) {
    const diff = specDiff(stored.spec, spec);
    if (diff.length) throw new KilnError(`study '${spec.name}' exists with other settings (${diff.join('; ')}); use another study name (kiln search --study) or storage (kiln oneshot --out)`);
  }
  const worker = opts.worker ?? workerId();
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  if (!(graceMs > 0)) throw new KilnError(`the heartbeat grace must be positive, got ${graceMs} ms`);
  // Only trials whose owner is gone: another worker's running trial is left alone.
  const interrupted = storage.expireTrials(spec.name, { graceMs });
  // The controller follows the study's shared state: before asking and telling it catches up when
  // another worker moved the state on (versions differ). A caller-restored controller is this run's own.
  const shared = opts.restoreController !== false;
  let version = -1;
  const sync = (slot: StateSlot) => {
    if (!shared || slot.version === version) return;
    const state = slot.read();
    if (state !== undefined) controller.restore(state);
    version = slot.version;
  };
  /** What finishing a trial stores after a tell: a shared controller catches up first; the storage bumps the version when it writes. */
  const told = (learn?: () => void) => {
    if (shared) {
      return {
        updateState(slot: StateSlot) {
          sync(slot);
          learn?.();
          version = slot.version + 1;
          return controller.state();
        },
      };
    }
    learn?.();
    return { controllerState: controller.state() };
  };
  if (shared) {
    const version0 = stored?.stateVersion ?? 0;
    sync({ version: version0, read: () => storage.controllerState(spec.name) });
  }
  const resumed = storage.trials(spec.name).length > 0;
  const sign = spec.direction === 'max' ? 1 : -1;

  const study: Study = {
    spec, storage, space, table, controller, evaluator, constraints, resumed, interrupted, worker,
    ask() {
      const r = study.reserve();
      if (!r.pending) throw new KilnError(`controller '${controller.name}' has nothing left to propose`);
      return r.pending;
    },
    reserve(budget) {
      const r = storage.reserveTrial(spec.name, {
        worker, graceMs, budget,
        propose(slot) {
          sync(slot);
          if (controller.exhausted?.()) return undefined;
          const arch = space.toString(controller.ask());
          version = slot.version + 1;
          return { arch, state: controller.state() };
        },
      });
      if (!r.trial) return { pending: undefined, done: r.done, evaluated: r.evaluated, expired: r.expired };
      return { pending: { number: r.trial.number, arch: space.parse(r.trial.arch) }, evaluated: r.evaluated, expired: r.expired };
    },
    tell(t, metrics, { learn = true } = {}) {
      const feasible = constraints.feasible(metrics);
      // An evaluated trial keeps its objective even when an outcome broke a constraint: it was paid for.
      const value = metrics[spec.objective] ?? null;
      const result = { score: value === null || !feasible ? -Infinity : sign * value, feasible, metrics };
      return storage.finishTrial(spec.name, t.number, {
        state: 'complete', feasible, value, metrics, ...told(learn ? () => controller.tell(t.arch, result) : undefined),
      });
    },
    fail(t, error) {
      return storage.finishTrial(spec.name, t.number, { state: 'failed', feasible: false, value: null, metrics: {}, error });
    },
    skip(t, reason) {
      return storage.finishTrial(spec.name, t.number, {
        state: 'complete', feasible: false, value: null, metrics: {}, error: `not evaluable: ${reason}`,
        ...told(() => controller.tell(t.arch, { score: -Infinity, feasible: false, metrics: {} })),
      });
    },
    notEvaluable,
    trial: (signal) => study.evaluate(study.ask(), signal),
    async evaluate(t, signal) {
      try {
        const why = notEvaluable(t.arch);
        if (why !== undefined) return study.skip(t, why);
        let metrics: TrialMetrics;
        try {
          metrics = constraints.costs(t.arch);
          if (constraints.feasibleCosts(metrics)) {
            const evaluate = (dir?: string) => evaluator.evaluate(t.arch, signal, dir);
            const root = opts.artifacts;
            metrics = { ...metrics, ...(await (root === undefined ? evaluate() : writeTrialArtifacts(root, spec.name, t.number, evaluate))) };
          }
        } catch (e) {
          study.fail(t, (e as Error).message);
          throw e;
        }
        return study.tell(t, metrics);
      } catch (e) {
        if (!(e instanceof TrialNotRunningError)) throw e;
        // Another worker failed this trial meanwhile and will redo it: its files are not this trial's result.
        if (opts.artifacts !== undefined) removeTrialArtifacts(opts.artifacts, spec.name, t.number);
        return storage.trials(spec.name)[t.number];
      }
    },
    async run({ budget, signal, onTrial, heartbeatMs = DEFAULT_HEARTBEAT_MS }) {
      checkBudget(budget);
      if (!(heartbeatMs > 0)) throw new KilnError(`the heartbeat interval must be positive, got ${heartbeatMs} ms`);
      if (stored?.budget !== budget) storage.setBudget(spec.name, budget);
      let done = study.evaluated();
      let expired = 0;
      let infeasibleRun = 0;
      let notEvaluableRun = 0;
      const beat = setInterval(() => storage.heartbeat(spec.name, worker), heartbeatMs);
      beat.unref();
      try {
        while (!signal?.aborted && !controller.exhausted?.()) {
          const r = study.reserve(budget);
          expired += r.expired;
          done = r.evaluated;
          if (!r.pending) {
            if (r.done) break;
            await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
            continue;
          }
          const finished = await study.evaluate(r.pending, signal);
          if (finished.state === 'failed') continue; // lost to another worker after this one's heartbeat expired
          if (isEvaluated(finished)) {
            done++;
            infeasibleRun = 0;
            notEvaluableRun = 0;
          } else if (isNotEvaluable(finished)) {
            if (++notEvaluableRun >= MAX_NOT_EVALUABLE_IN_A_ROW) {
              throw new KilnError(`${MAX_NOT_EVALUABLE_IN_A_ROW} proposals in a row of controller '${controller.name}' were ${finished.error}`);
            }
          } else if (++infeasibleRun >= MAX_INFEASIBLE_IN_A_ROW) {
            throw new KilnError(`${MAX_INFEASIBLE_IN_A_ROW} infeasible proposals in a row under ${spec.constraints.join(', ')}; loosen the constraints`);
          }
          onTrial?.(finished, done);
          // Table lookups resolve in microtasks; yielding lets signal handlers (Ctrl-C) and output run.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        clearInterval(beat);
      }
      const trials = study.trials();
      done = trials.filter(isEvaluated).length;
      return {
        spec, trials, best: bestTrial(trials, spec.direction), done,
        stopped: done < budget && !controller.exhausted?.(), resumed, interrupted: interrupted + expired,
      };
    },
    trials: () => storage.trials(spec.name),
    evaluated: () => study.trials().filter(isEvaluated).length,
    best: () => bestTrial(study.trials(), spec.direction),
    rewind(keep, reason) {
      const complete = study.trials().filter((t) => t.state === 'complete');
      if (complete.length <= keep) return 0;
      return storage.discardAfter(spec.name, keep === 0 ? -1 : complete[keep - 1].number, reason);
    },
  };
  return study;
}

/** What `joinStudy` needs: where the study lives and who this worker is. */
export interface JoinStudyOptions {
  storage: Storage;
  name: string;
  worker?: string;
  graceMs?: number;
  artifacts?: string;
}

/**
 * Opens a study that another process created (`kiln search`, `kiln study create`) from its stored
 * spec, as one more worker on it. Its table must be readable here with the content it had when the
 * study began (the fingerprint is checked), so every worker evaluates the same thing.
 */
export function joinStudy(opts: JoinStudyOptions): Study {
  const record = opts.storage.getStudy(opts.name);
  if (!record) {
    const known = opts.storage.listStudies().map((s) => s.spec.name);
    throw new KilnError(`no study '${opts.name}' in ${opts.storage.uri} (studies: ${known.length ? known.join(', ') : 'none'}); create it with kiln search or kiln study create`);
  }
  const { tableSha256: _fingerprint, ...config } = record.spec;
  if (config.table !== undefined && !fs.existsSync(config.table)) {
    throw new KilnError(`study '${opts.name}' reads table ${config.table}, which is not here (run the worker where that path holds the same file)`);
  }
  return openStudy({ study: config, storage: opts.storage, worker: opts.worker, graceMs: opts.graceMs, artifacts: opts.artifacts });
}

/**
 * Runs (or resumes) a study until `budget` trials have been evaluated: `openStudy`, then
 * `run`. Each trial: ask the controller, open a running trial, record it as not evaluable
 * when the study cannot evaluate it (outside a partial table), else compute the constrained costs
 * (cheap), evaluate only when they are feasible, tell the controller, then store the finished
 * trial together with the controller's state.
 */
export async function runStudy(opts: RunStudyOptions): Promise<StudyRun> {
  checkBudget(opts.budget);
  return openStudy(opts).run(opts);
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
