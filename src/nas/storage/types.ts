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
  /**
   * The evaluator's options with defaults filled in (a training evaluator's dataset, steps, batch,
   * lr, seed), so every worker rebuilds the same evaluator; absent for evaluators without options.
   */
  evaluatorOptions?: Record<string, number | boolean | string>;
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
  /** Evaluated trials the study aims for (set by the run that created or last resumed it); null when never set. */
  budget: number | null;
  /** Bumped by every write of the shared controller state, so a worker knows when its controller is stale. */
  stateVersion: number;
}

/**
 * running: asked, not finished (a killed process leaves these; they are failed once their owner's
 * heartbeat expires, see `expireTrials`).
 * complete: finished; `feasible` says whether it met the constraints. A trial whose costs broke one
 * was never evaluated (it holds only costs and no objective); one that broke a constraint on an
 * outcome (accuracy) was evaluated and keeps its objective. failed: evaluation threw, the run died, or the
 * work behind the trial was rolled back (see `discardAfter`).
 */
export type TrialState = 'running' | 'complete' | 'failed';

export interface Trial {
  number: number;
  /** The space's canonical architecture string. */
  arch: string;
  state: TrialState;
  feasible: boolean;
  /** The objective of an evaluated trial (also one whose outcome broke a constraint); null otherwise. */
  value: number | null;
  /** Costs, plus the evaluator's metrics when evaluated. */
  metrics: TrialMetrics;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** The worker that reserved the trial (`workerId()`), null for trials made without one. */
  worker: string | null;
}

/** Evaluated trials count against the budget: complete, and feasible or holding an objective. */
export const isEvaluated = (t: Pick<Trial, 'state' | 'feasible' | 'value'>): boolean => t.state === 'complete' && (t.feasible || t.value !== null);

export interface TrialOutcome {
  state: 'complete' | 'failed';
  feasible: boolean;
  value: number | null;
  metrics: TrialMetrics;
  error?: string;
  /** The controller's state after it was told this trial; stored atomically with it. */
  controllerState?: unknown;
  /**
   * Instead of `controllerState`: called inside the finishing transaction with the study's shared
   * controller state; returns the state to store (a worker catches up, then tells its controller).
   */
  updateState?: (slot: StateSlot) => unknown;
}

/** The study's shared controller state as a transaction sees it. */
export interface StateSlot {
  version: number;
  /** The stored state (parsed JSON), undefined when none was stored. */
  read(): unknown;
}

/** How long a running trial's owner may stay silent. */
export interface ExpireOptions {
  /**
   * A running trial whose last heartbeat is older than this is failed and its architecture re-queued
   * (up to MAX_RETRIES times per architecture).
   */
  graceMs: number;
}

export interface ReserveRequest extends ExpireOptions {
  /** Owner of the new trial, whose heartbeats keep it alive. */
  worker: string;
  /**
   * Reserve only while evaluated (complete, feasible) plus running trials stay below it: a running
   * trial may still become evaluated, so N workers never overshoot. Absent: no limit.
   */
  budget?: number;
  /**
   * Proposes an architecture from the shared controller state; returns it and the state after
   * asking, or undefined when the controller has nothing left to propose (the reservation is then `done`).
   */
  propose(slot: StateSlot): { arch: string; state: unknown } | undefined;
}

/** No trial: `done` when the budget is reached or the controller is exhausted, else running trials hold the rest of it (wait and ask again). */
export type Reservation =
  | { trial: Trial; retry: boolean; evaluated: number; expired: number }
  | { trial: undefined; done: boolean; evaluated: number; running: number; expired: number };

/** A trial was finished, or failed by heartbeat expiry, while its owner still worked on it. */
export class TrialNotRunningError extends Error {
  constructor(study: string, number: number) {
    super(`trial ${number} of study '${study}' is not running`);
    this.name = 'TrialNotRunningError';
  }
}

/** Persistence for studies and trials; every backend passes test/storage.test.ts. */
export interface Storage {
  readonly uri: string;
  /** KilnError when a study of that name exists. */
  createStudy(spec: StudySpec): StudyRecord;
  getStudy(name: string): StudyRecord | undefined;
  listStudies(): StudyRecord[];
  /** Opens the next trial number in state running, owned by `worker` (heartbeat now) when given. */
  createTrial(study: string, arch: string, worker?: string): Trial;
  /**
   * In one transaction with the study locked: fails expired trials (see `expireTrials`), counts the
   * budget, then opens a trial for the oldest re-queued architecture or, when none, for the one
   * `propose` gives (storing the controller state it returns). Workers sharing a study call this.
   */
  reserveTrial(study: string, request: ReserveRequest): Reservation;
  /** TrialNotRunningError when the trial is not running (finished, or failed by expiry meanwhile). */
  finishTrial(study: string, number: number, outcome: TrialOutcome): Trial;
  /** Refreshes the heartbeat of `worker`'s running trials; returns how many. */
  heartbeat(study: string, worker: string): number;
  /**
   * Fails running trials whose owner is gone: its heartbeat is older than `graceMs`, or it was a
   * process on this machine that no longer exists; their architectures are re-queued for
   * `reserveTrial`. Trials without an owner are failed and not re-queued. Returns how many.
   */
  expireTrials(study: string, opts: ExpireOptions): number;
  /** Records the study's budget, for workers that join it. */
  setBudget(study: string, budget: number): void;
  /** All trials, by number. */
  trials(study: string): Trial[];
  /** The study's shared controller state: the one stored last (undefined when none). */
  controllerState(study: string): unknown;
  /**
   * Marks every trial numbered above `number` that is not failed yet as failed, drops its
   * controller state and makes the latest remaining one the study's; returns how many. For searches whose state lives outside the storage
   * (a supernet checkpoint): trials newer than the checkpoint are redone, not kept twice.
   */
  discardAfter(study: string, number: number, reason: string): number;
  close(): void;
}
