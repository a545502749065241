import type { Trial } from './types.js';

/** A trials row as the SQL backends store it (SQLite keeps booleans as 0/1, PostgreSQL as booleans). */
export interface TrialRow {
  number: number;
  arch: string;
  state: Trial['state'];
  feasible: number | boolean;
  value: number | null;
  metrics: string;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  worker: string | null;
}

export const toTrial = (r: TrialRow): Trial => ({
  number: r.number, arch: r.arch, state: r.state, feasible: r.feasible === true || r.feasible === 1, value: r.value,
  metrics: JSON.parse(r.metrics), error: r.error, startedAt: r.started_at, finishedAt: r.finished_at, worker: r.worker,
});

export const TRIAL_COLUMNS = 'number, arch, state, feasible, value, metrics, error, started_at, finished_at, worker';
