import {
  bestSoFar, bestTrial, isNotEvaluable, paretoFront, parseConstraints, type Constraint, type StudyRecord, type StudySpec, type Trial,
} from '../nas/index.js';
import { curvePlot, scatterPlot, type ScatterPoint } from './dashboard-plots.js';

/**
 * What the dashboard shows of a study, computed from its record and trials as read at request
 * time: counts per state, in all and per worker (the process that reserved each trial).
 */

/** A trial's place in progress: evaluated (complete, feasible), or why it has no objective. */
export type TrialStatus = 'evaluated' | 'infeasible' | 'not evaluable' | 'failed' | 'running';

export type StateCounts = Record<'evaluated' | 'infeasible' | 'notEvaluable' | 'failed' | 'running' | 'total', number>;

/** One worker's share of a study: its trials' counts per state and when it last started or finished one. */
export interface WorkerProgress {
  /** The worker id (host:pid:boot:n), or null for trials stored without one. */
  worker: string | null;
  counts: StateCounts;
  lastActivity: string | null;
}

export interface StudySummary {
  name: string;
  space: string;
  controller: string;
  objective: string;
  direction: StudySpec['direction'];
  constraints: string[];
  createdAt: string;
  counts: StateCounts;
  /** Evaluated trials the study aims for, null when no run set one. */
  budget: number | null;
  /** How many workers have reserved trials (trials without a worker not counted). */
  workerCount: number;
  best: { number: number; value: number; arch: string } | null;
  /** When the last trial started or finished; null without trials. */
  updatedAt: string | null;
}

export interface TrialRow {
  number: number;
  arch: string;
  status: TrialStatus;
  value: number | null;
  metrics: Record<string, number>;
  error: string | null;
  worker: string | null;
  /** Names of the trial's files (its saved model, plots, report) under the dashboard's artifact folder. */
  artifacts: string[];
}

export interface StudyView extends StudySummary {
  spec: StudySpec;
  /** Numeric metrics any trial has, objective excluded: the choices for the scatter's x axis. */
  costMetrics: string[];
  /** The scatter's x metric (null when trials have no metric besides the objective). */
  cost: string | null;
  /** Trial numbers on the scatter and on its Pareto front. */
  plotted: number[];
  front: number[];
  /** Evaluated trials without a finite value of `cost` (left out of the scatter). */
  unplotted: number;
  curveSvg: string;
  scatterSvg: string;
  /** Per worker, the most recently active first. */
  workers: WorkerProgress[];
  trials: TrialRow[];
}

export function trialStatus(t: Trial): TrialStatus {
  if (t.state !== 'complete') return t.state;
  if (isNotEvaluable(t)) return 'not evaluable';
  return t.feasible && t.value !== null ? 'evaluated' : 'infeasible';
}

export function countStates(trials: readonly Trial[]): StateCounts {
  const c: StateCounts = { evaluated: 0, infeasible: 0, notEvaluable: 0, failed: 0, running: 0, total: trials.length };
  for (const t of trials) {
    const s = trialStatus(t);
    c[s === 'not evaluable' ? 'notEvaluable' : s]++;
  }
  return c;
}

const lastActivity = (trials: readonly Trial[]) => trials.flatMap((t) => [t.startedAt, t.finishedAt ?? '']).filter(Boolean).sort().at(-1) ?? null;

export function workerProgress(trials: readonly Trial[]): WorkerProgress[] {
  const byWorker = new Map<string | null, Trial[]>();
  for (const t of trials) byWorker.set(t.worker, [...(byWorker.get(t.worker) ?? []), t]);
  return [...byWorker].map(([worker, own]) => ({ worker, counts: countStates(own), lastActivity: lastActivity(own) }))
    .sort((a, b) => (b.lastActivity ?? '').localeCompare(a.lastActivity ?? '') || String(a.worker).localeCompare(String(b.worker)));
}

export function studySummary(record: StudyRecord, trials: readonly Trial[]): StudySummary {
  const s = record.spec;
  const best = bestTrial(trials, s.direction);
  return {
    name: s.name, space: s.space, controller: s.controller, objective: s.objective, direction: s.direction, constraints: s.constraints,
    createdAt: record.createdAt, counts: countStates(trials), budget: record.budget,
    workerCount: new Set(trials.map((t) => t.worker).filter((w) => w !== null)).size,
    best: best ? { number: best.number, value: best.value!, arch: best.arch } : null,
    updatedAt: lastActivity(trials),
  };
}

const constraintsOf = (spec: StudySpec): Constraint[] => {
  try {
    return parseConstraints(spec.constraints);
  } catch {
    return []; // A spec written by another version: show the study without constraint lines.
  }
};

/**
 * The full view of a study. `cost` picks the scatter's x metric; by default the first
 * constrained metric the trials carry, else the first metric they carry by name. `artifacts`: each
 * trial's files (see `listTrialArtifacts`).
 */
export function studyView(record: StudyRecord, trials: readonly Trial[], cost?: string, artifacts: ReadonlyMap<number, string[]> = new Map()): StudyView {
  const spec = record.spec;
  const constraints = constraintsOf(spec);
  const constrained = constraints.map((c) => c.metric);
  // Constrained metrics first (the default cost and the first metric columns), then the rest by name.
  const costMetrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))]
    .filter((m) => m !== spec.objective && trials.some((t) => typeof t.metrics[m] === 'number'))
    .sort((a, b) => Number(constrained.includes(b)) - Number(constrained.includes(a)) || a.localeCompare(b));
  const chosen = cost ?? costMetrics[0] ?? null;

  const evaluated = [...trials].sort((a, b) => a.number - b.number).filter((t) => trialStatus(t) === 'evaluated');
  const onScatter = chosen === null ? [] : evaluated.filter((t) => Number.isFinite(t.metrics[chosen]));
  const front = paretoFront(onScatter.map((t) => [t.metrics[chosen!], t.value!]), ['min', spec.direction]).map((i) => onScatter[i]);
  const points: ScatterPoint[] = onScatter.map((t) => ({ trial: t.number, x: t.metrics[chosen!], y: t.value! }));

  return {
    ...studySummary(record, trials),
    spec,
    costMetrics,
    cost: chosen,
    plotted: onScatter.map((t) => t.number),
    front: front.map((t) => t.number),
    unplotted: evaluated.length - onScatter.length,
    curveSvg: curvePlot(evaluated.map((t) => ({ trial: t.number, y: t.value! })), bestSoFar(evaluated, spec.direction), spec.objective),
    scatterSvg: scatterPlot(points, new Set(front.map((t) => t.number)), {
      xLabel: chosen ?? '(no cost metric)',
      yLabel: spec.objective,
      guides: constraints.filter((c) => c.metric === chosen).map((c) => ({ value: c.bound, label: `${c.metric} ${c.op} ${c.bound}` })),
    }),
    workers: workerProgress(trials),
    trials: trials.map((t) => ({
      number: t.number, arch: t.arch, status: trialStatus(t), value: t.value, metrics: t.metrics, error: t.error, worker: t.worker,
      // A worker killed between keeping a trial's files and telling it leaves files of a failed trial: not its result.
      artifacts: t.state === 'complete' ? artifacts.get(t.number) ?? [] : [],
    })),
  };
}
