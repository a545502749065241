import type { TrialMetrics } from '../evaluators.js';
import type { ControllerOptions } from '../controllers/index.js';

export type Direction = 'max' | 'min';

/** Everything that defines a study; a resumed run must present the same spec. */
export interface StudySpec {
  name: string;
  space: string;
  objective: string;
  direction: Direction;
  /** Canonical constraint texts, e.g. 'latency_ms_pixel3<=6'. */
  constraints: string[];
  controller: string;
  controllerOptions: ControllerOptions;
  evaluator: string;
  /** Benchmark table (CSV path as given) and its architecture column, for table-backed studies. */
  table?: string;
  archColumn?: string;
  /** SHA-256 of the table file when the study began: an edited table is a different study. */
  tableSha256?: string;
  seed: number;
}

export interface StudyRecord {
  spec: StudySpec;
  createdAt: string;
}

/**
 * running: asked, not finished (a killed process leaves these; resume marks them failed).
 * complete: finished; `feasible` says whether its costs met the constraints (infeasible
 * trials hold only costs and no objective). failed: evaluation threw, the run died, or the
 * work behind the trial was rolled back (see `discardAfter`).
 */
export type TrialState = 'running' | 'complete' | 'failed';

export interface Trial {
  number: number;
  /** The space's canonical architecture string. */
  arch: string;
  state: TrialState;
  feasible: boolean;
  /** The objective, for complete feasible trials; null otherwise. */
  value: number | null;
  /** Costs, plus the evaluator's metrics when evaluated. */
  metrics: TrialMetrics;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface TrialOutcome {
  state: 'complete' | 'failed';
  feasible: boolean;
  value: number | null;
  metrics: TrialMetrics;
  error?: string;
  /** The controller's state after it was told this trial; stored atomically with it. */
  controllerState?: unknown;
}

/** Persistence for studies and trials; every backend passes test/storage.test.ts. */
export interface Storage {
  readonly uri: string;
  /** KilnError when a study of that name exists. */
  createStudy(spec: StudySpec): StudyRecord;
  getStudy(name: string): StudyRecord | undefined;
  listStudies(): StudyRecord[];
  /** Opens trial number max+1 in state running. */
  createTrial(study: string, arch: string): Trial;
  finishTrial(study: string, number: number, outcome: TrialOutcome): Trial;
  /** All trials, by number. */
  trials(study: string): Trial[];
  /** The controller state stored with the highest-numbered trial that has one. */
  controllerState(study: string): unknown;
  /** Marks running trials failed (after a crash); returns how many. */
  failRunning(study: string, reason: string): number;
  /**
   * Marks every trial numbered above `number` that is not failed yet as failed, and drops its
   * controller state; returns how many. For searches whose state lives outside the storage
   * (a supernet checkpoint): trials newer than the checkpoint are redone, not kept twice.
   */
  discardAfter(study: string, number: number, reason: string): number;
  close(): void;
}
