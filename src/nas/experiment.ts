import { KilnError } from '../core/index.js';
import type { ControllerOptions } from './controllers/index.js';
import { createConstraintSet, parseConstraints, type Constraint } from './cost/index.js';
import { getSpace } from './space/index.js';
import type { Direction, Storage, Trial } from './storage/index.js';
import { openStudy, type Study } from './study.js';
import { loadTable, type BenchmarkTable } from './table.js';

/**
 * How a controller name of `kiln experiment nas` runs. `hard`: the study carries the
 * experiment's constraints (infeasible proposals are never evaluated). Reward-shaped REINFORCE
 * (`soft`) needs the cost of every sample, so its study has no hard constraint: the single
 * upper limit METRIC<=T0 becomes the reward's cost metric and target, every sample is
 * evaluated, and feasibility is judged afterwards against the same limit.
 */
export interface ControllerPreset {
  controller: string;
  options: ControllerOptions;
  soft: boolean;
  description: string;
}

/**
 * Builds one controller preset of the experiment for a cost limit and a quality scale.
 *
 * @inline
 */
type PresetFactory = (ctx: { limit?: Constraint; qualityScale: number }) => ControllerPreset;

const softReward = (reward: string): PresetFactory => ({ limit, qualityScale }) => {
  if (!limit) throw new KilnError(`controller 'reinforce_${reward}' needs exactly one upper limit (--constraint METRIC<=T0) as its reward target`);
  return {
    controller: 'reinforce', soft: true,
    options: { reward, costMetric: limit.metric, target: limit.bound, qualityScale },
    description: `REINFORCE with TuNAS's ${reward} reward, target ${limit.metric}=${limit.bound} (soft: no hard constraint)`,
  };
};

export const PRESETS: Record<string, PresetFactory> = {
  random: () => ({ controller: 'random', options: {}, soft: false, description: 'uniform random search (hard constraints)' }),
  evolution: () => ({ controller: 'evolution', options: {}, soft: false, description: 'regularized evolution P=20, S=5 (hard constraints)' }),
  tabnas: ({ qualityScale }) => ({ controller: 'tabnas', options: { qualityScale }, soft: false, description: 'TabNAS rejection sampling with the Monte-Carlo P(V) correction' }),
  tabnas_nocorr: ({ qualityScale }) => ({ controller: 'tabnas', options: { qualityScale, correction: false }, soft: false, description: 'rejection sampling without the P(V) correction' }),
  reinforce: (ctx) => (ctx.limit ? softReward('abs')(ctx) : {
    controller: 'reinforce', options: { qualityScale: ctx.qualityScale }, soft: false, description: 'REINFORCE on the objective (no cost in the reward)',
  }),
  reinforce_abs: softReward('abs'),
  reinforce_mnas: softReward('mnas'),
  reinforce_mnas_hard: softReward('mnas_hard'),
  predictor: () => ({ controller: 'predictor', options: {}, soft: false, description: 'iterative Neural Predictor, MLP on one-hot (N=20, top 10 per refit)' }),
  predictor_gcn: () => ({ controller: 'predictor', options: { model: 'gcn', initial: 50, epochs: 100 }, soft: false, description: 'iterative Neural Predictor, GCN on the cell DAG (N=50, top 10 per refit, 100 epochs)' }),
};
export const PRESET_NAMES = Object.keys(PRESETS);

export interface NasExperimentConfig {
  table: string;
  space: string;
  archColumn?: string;
  objective: string;
  direction: Direction;
  /** Limits every run is judged by (hard in the studies of non-soft controllers). */
  constraints: string[];
  controllers: string[];
  seeds: number;
  /** Evaluated architectures per run. */
  budget: number;
  /** "Close to the optimum" means within this distance of the feasible optimum (default 0.2). */
  within: number;
  /** Stop each run once it is within `within` of the feasible optimum (for trials-to-reach figures). */
  stopAtTarget?: boolean;
}

export interface RunResult {
  controller: string;
  seed: number;
  study: string;
  /** Evaluated architectures (trained, in a real search). */
  evaluated: number;
  /** Every proposal, including infeasible ones a hard-constrained study did not evaluate. */
  proposals: number;
  /** Infeasible samples a rejection controller discarded inside ask(). */
  rejections: number;
  /** Best feasible objective after each evaluation (NaN until the first feasible one). */
  curve: number[];
  /** Evaluations until within `within` of the feasible optimum; null if never. */
  reach: number | null;
  pick: string | null;
  pickFeasible: boolean;
  pickValue: number | null;
  /** |feasible optimum - pick's objective| for a feasible pick; null otherwise. */
  pickGap: number | null;
}

export interface NasExperimentResult {
  config: NasExperimentConfig;
  table: BenchmarkTable;
  presets: Record<string, ControllerPreset>;
  constraints: Constraint[];
  optimum: { value: number; arch: string };
  runs: RunResult[];
}

export interface ExperimentHooks {
  storage: Storage;
  signal?: AbortSignal;
  /** After each run (resumed runs included): how many runs are finished out of the total. */
  onRun?: (run: RunResult, finished: number, total: number) => void;
  /** After each evaluated trial of the current run. */
  onTrial?: (controller: string, seed: number, evaluated: number) => void;
}

/** Builds each preset; the objective is scaled to [0, 1]-ish (0.01) for rewards when it looks like a percentage. */
export function experimentPresets(cfg: NasExperimentConfig, table: BenchmarkTable, constraints: Constraint[]): Record<string, ControllerPreset> {
  const upper = constraints.filter((c) => c.op === '<=' || c.op === '<');
  const limit = constraints.length === 1 && upper.length === 1 ? upper[0] : undefined;
  const qualityScale = Math.max(...table.column(cfg.objective).map(Math.abs)) > 1.5 ? 0.01 : 1;
  return Object.fromEntries(cfg.controllers.map((name) => {
    const factory = PRESETS[name];
    if (!factory) throw new KilnError(`unknown controller '${name}' for kiln experiment nas (known: ${PRESET_NAMES.join(', ')})`);
    return [name, factory({ limit, qualityScale })];
  }));
}

/**
 * Runs every controller for every seed on a benchmark table, each run a study in `storage`
 * (re-running resumes finished and partial runs), and judges each run against the
 * experiment's constraints: best-so-far feasible objective per evaluation, evaluations to
 * come within `within` of the feasible optimum, and the final pick (the controller's own
 * recommendation when it has one, e.g. a policy's most likely architecture, else its best
 * feasible trial): feasible or not, and its distance to the feasible optimum.
 */
export async function runNasExperiment(cfg: NasExperimentConfig, hooks: ExperimentHooks): Promise<NasExperimentResult> {
  const space = getSpace(cfg.space);
  const table = loadTable(cfg.table, space, { archColumn: cfg.archColumn });
  if (!table.hasColumn(cfg.objective)) throw new KilnError(`objective '${cfg.objective}' is not a numeric column of ${cfg.table} (columns: ${table.columns.join(', ')})`);
  const constraints = parseConstraints(cfg.constraints);
  const set = createConstraintSet(constraints, { space, table });
  const presets = experimentPresets(cfg, table, constraints);
  const objective = table.column(cfg.objective);
  const sign = cfg.direction === 'max' ? 1 : -1;
  const feasibleRow = table.archs.map((a) => set.feasible(set.costs(a)));
  let optRow = -1;
  for (let i = 0; i < table.size; i++) if (feasibleRow[i] && (optRow < 0 || sign * objective[i] > sign * objective[optRow])) optRow = i;
  const optimum = { value: objective[optRow], arch: space.toString(table.archs[optRow]) };
  const target = optimum.value - sign * cfg.within;
  const reached = (v: number) => sign * v >= sign * target;
  const rowOf = (arch: string) => table.rowOf(space.parse(arch));

  const total = cfg.controllers.length * cfg.seeds;
  const runs: RunResult[] = [];
  for (const name of cfg.controllers) {
    const preset = presets[name];
    for (let seed = 1; seed <= cfg.seeds; seed++) {
      if (hooks.signal?.aborted) break;
      const config = {
        name: `${name}-seed${seed}`, space: cfg.space, objective: cfg.objective, direction: cfg.direction,
        constraints: preset.soft ? [] : cfg.constraints, controller: preset.controller, controllerOptions: preset.options,
        table: cfg.table, archColumn: cfg.archColumn ?? 'arch', seed,
      };
      const stop = new AbortController();
      const abort = () => stop.abort();
      hooks.signal?.addEventListener('abort', abort);
      const study = openStudy({ study: config, storage: hooks.storage });
      const hit = (t: Trial) => t.value !== null && feasibleRow[rowOf(t.arch)] && reached(t.value);
      if (!(cfg.stopAtTarget && study.trials().some(hit))) {
        await study.run({
          budget: cfg.budget, signal: stop.signal,
          onTrial(t, done) {
            hooks.onTrial?.(name, seed, done);
            if (cfg.stopAtTarget && hit(t)) stop.abort();
          },
        });
      }
      hooks.signal?.removeEventListener('abort', abort);
      if (hooks.signal?.aborted) break;
      runs.push(judgeRun(name, seed, study));
      hooks.onRun?.(runs.at(-1)!, runs.length, total);
    }
  }
  return { config: cfg, table, presets, constraints, optimum, runs };

  /** Judges a run by its stored trials and its controller as the run left it. */
  function judgeRun(name: string, seed: number, study: Study): RunResult {
    const trials = study.trials();
    const curve: number[] = [];
    let best = NaN;
    let bestArch: string | null = null;
    for (const t of trials) {
      if (t.state !== 'complete' || t.value === null) continue;
      if (feasibleRow[rowOf(t.arch)] && (Number.isNaN(best) || sign * t.value > sign * best)) {
        best = t.value;
        bestArch = t.arch;
      }
      curve.push(best);
    }
    const k = curve.findIndex((v) => !Number.isNaN(v) && reached(v));
    const own = study.controller.pick?.();
    const pick = own ? space.toString(own) : bestArch;
    const row = pick === null ? -1 : rowOf(pick);
    const pickFeasible = row >= 0 && feasibleRow[row];
    const rejections = (study.controller.state() as { rejected?: number } | undefined)?.rejected ?? 0;
    return {
      controller: name, seed, study: study.spec.name, evaluated: curve.length,
      proposals: trials.filter((t) => t.state === 'complete').length + rejections, rejections, curve,
      reach: k < 0 ? null : k + 1,
      pick, pickFeasible,
      pickValue: row >= 0 ? objective[row] : null,
      pickGap: pickFeasible ? Math.abs(optimum.value - objective[row]) : null,
    };
  }
}
