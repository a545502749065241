/**
 * What reserving, finishing and expiring trials mean, written once over the few row operations
 * each backend offers inside a transaction that holds its study locked (SQLite: BEGIN IMMEDIATE;
 * PostgreSQL: SELECT ... FOR UPDATE on the study row). Workers on one study therefore count the
 * budget, take re-queued architectures and move the shared controller state one at a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { ExpireOptions, Reservation, ReserveRequest, StateSlot, Trial, TrialOutcome } from './types.js';
import { TrialNotRunningError } from './types.js';

/** A running trial as expiry sees it. */
export interface RunningRow {
  number: number;
  arch: string;
  worker: string | null;
  /** Milliseconds on the storage clock; null for trials made without an owner. */
  heartbeat: number | null;
}

/** Row operations on one locked study; every call runs inside the backend's transaction. */
export interface StudyTx {
  /** Milliseconds on the storage's clock (PostgreSQL's server clock, shared by every machine). */
  now(): number;
  running(): RunningRow[];
  /** Marks these running trials failed with `reason`; `requeue` puts their architectures in the retry queue. */
  fail(numbers: readonly number[], reason: string, requeue: boolean): void;
  /** Failed trials of `arch` whose error is `reason`. */
  failedWith(arch: string, reason: string): number;
  counts(): { evaluated: number; running: number };
  /** The architecture of the oldest re-queued trial, taken off the queue; undefined when the queue is empty. */
  takeRequeued(): string | undefined;
  insert(arch: string, worker: string | null, heartbeat: number | null): Trial;
  isRunning(number: number): boolean;
  /** Finishes a running trial; `state` (JSON text) is stored with it and becomes the study's. */
  finish(number: number, outcome: TrialOutcome, state: string | null): Trial;
  stateVersion(): number;
  readState(): string | null;
  /** Makes `state` the study's shared controller state and bumps its version. */
  writeState(state: string): void;
}

/** The error of a trial whose owner was gone; also what counts an architecture's lost attempts. */
export const LOST_REASON = 'its worker stopped (no heartbeat within the grace period); its architecture is re-queued';

/**
 * An architecture whose worker was lost this many times is not retried again: it most likely kills
 * the workers that evaluate it (out of memory, a crash in native code), and would take each one down.
 */
export const MAX_RETRIES = 3;

const slotOf = (tx: StudyTx): StateSlot => ({
  version: tx.stateVersion(),
  read() {
    const text = tx.readState();
    return text === null ? undefined : JSON.parse(text);
  },
});

/** Fails the trials whose owner is gone (see Storage.expireTrials); returns how many. */
export function expireIn(tx: StudyTx, opts: ExpireOptions): number {
  const rows = tx.running();
  if (rows.length === 0) return 0;
  const now = tx.now();
  const orphans = rows.filter((r) => r.worker === null).map((r) => r.number);
  if (orphans.length) tx.fail(orphans, 'interrupted: the run stopped before this trial finished', false);
  const gone = rows.filter((r) => r.worker !== null && (ownerGoneHere(r.worker) || (r.heartbeat ?? -Infinity) < now - opts.graceMs));
  for (const r of gone) {
    const lost = tx.failedWith(r.arch, LOST_REASON);
    if (lost + 1 < MAX_RETRIES) tx.fail([r.number], LOST_REASON, true);
    else tx.fail([r.number], `its worker stopped; not retried again: ${MAX_RETRIES} workers were lost on this architecture`, false);
  }
  return orphans.length + gone.length;
}

export function reserveIn(tx: StudyTx, req: ReserveRequest): Reservation {
  const expired = expireIn(tx, req);
  const { evaluated, running } = tx.counts();
  if (req.budget !== undefined && evaluated + running >= req.budget) {
    return { trial: undefined, done: evaluated >= req.budget, evaluated, running, expired };
  }
  const requeued = tx.takeRequeued();
  let arch: string;
  if (requeued !== undefined) {
    arch = requeued;
  } else {
    const proposal = req.propose(slotOf(tx));
    if (proposal === undefined) return { trial: undefined, done: true, evaluated, running, expired };
    arch = proposal.arch;
    tx.writeState(JSON.stringify(proposal.state));
  }
  return { trial: tx.insert(arch, req.worker, tx.now()), retry: requeued !== undefined, evaluated, expired };
}

export function finishIn(tx: StudyTx, study: string, number: number, outcome: TrialOutcome): Trial {
  if (!tx.isRunning(number)) throw new TrialNotRunningError(study, number);
  const state = outcome.updateState ? outcome.updateState(slotOf(tx)) : outcome.controllerState;
  return tx.finish(number, outcome, state === undefined ? null : JSON.stringify(state));
}

/** This machine's boot, so a process id is compared only with processes of the same boot. */
const BOOT = (() => {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
  } catch {
    return 'noboot';
  }
})();
let workers = 0;

/** This process: host, process id and boot (so a dead process on this machine is recognized). */
export function processId(): string {
  return `${os.hostname()}:${process.pid}:${BOOT}`;
}

/** A worker id: `processId()` plus a counter. */
export function workerId(): string {
  return `${processId()}:${workers++}`;
}

/** True when `worker` was a process of this machine's current boot that no longer exists. */
export function ownerGoneHere(worker: string): boolean {
  const m = /^(.*):\d+$/.exec(worker);
  return m !== null && processGoneHere(m[1]);
}

/** True when `id` (a `processId()`) was a process of this machine's current boot that no longer exists. */
export function processGoneHere(id: string): boolean {
  const m = /^(.*):(\d+):([^:]+)$/.exec(id);
  if (!m || m[1] !== os.hostname() || m[3] !== BOOT || BOOT === 'noboot') return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
