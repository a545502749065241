import { KilnError } from '../../core/index.js';
import { isEvaluated, type Storage, type StudyRecord, type StudySpec, type Trial } from './types.js';
import { expireIn, finishIn, reserveIn, type StudyTx } from './lease.js';

interface MemoryTrial extends Trial {
  heartbeat: number | null;
  requeued: boolean;
  /** The controller state stored with the trial, as JSON text (a snapshot, like SQLite's). */
  savedState: string | null;
}

interface StudyData {
  record: StudyRecord;
  trials: MemoryTrial[];
  state: string | null;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const publicTrial = ({ heartbeat: _h, requeued: _r, savedState: _s, ...t }: MemoryTrial): Trial => clone(t);

/** Process-local storage: fast, for tests, benchmarks and throwaway searches (one process, so no locks). */
export function memoryStorage(): Storage {
  const studies = new Map<string, StudyData>();
  const study = (name: string): StudyData => {
    const s = studies.get(name);
    if (!s) throw new KilnError(`no study named '${name}' in storage memory`);
    return s;
  };
  const now = () => new Date().toISOString();
  const txOf = (s: StudyData): StudyTx => ({
    now: () => Date.now(),
    running: () => s.trials.filter((t) => t.state === 'running').map((t) => ({ number: t.number, arch: t.arch, worker: t.worker, heartbeat: t.heartbeat })),
    failedWith: (arch, reason) => s.trials.filter((t) => t.state === 'failed' && t.arch === arch && t.error === reason).length,
    fail(numbers, reason, requeue) {
      for (const n of numbers) Object.assign(s.trials[n], { state: 'failed', error: reason, finishedAt: now(), requeued: requeue });
    },
    counts: () => ({
      evaluated: s.trials.filter(isEvaluated).length,
      running: s.trials.filter((t) => t.state === 'running').length,
    }),
    takeRequeued() {
      const t = s.trials.find((x) => x.requeued);
      if (!t) return undefined;
      t.requeued = false;
      return t.arch;
    },
    insert(arch, worker, heartbeat) {
      const trial: MemoryTrial = {
        number: s.trials.length, arch, state: 'running', feasible: false, value: null, metrics: {}, error: null,
        startedAt: now(), finishedAt: null, worker, heartbeat, requeued: false, savedState: null,
      };
      s.trials.push(trial);
      return publicTrial(trial);
    },
    isRunning: (n) => s.trials[n]?.state === 'running',
    finish(n, o, state) {
      const t = s.trials[n];
      Object.assign(t, {
        state: o.state, feasible: o.feasible, value: o.value, metrics: clone(o.metrics), error: o.error ?? null, finishedAt: now(),
      });
      if (state !== null) {
        t.savedState = state;
        s.state = state;
        s.record.stateVersion++;
      }
      return publicTrial(t);
    },
    stateVersion: () => s.record.stateVersion,
    readState: () => s.state,
    writeState(state) {
      s.state = state;
      s.record.stateVersion++;
    },
  });
  return {
    uri: 'memory',
    createStudy(spec: StudySpec) {
      if (studies.has(spec.name)) throw new KilnError(`study '${spec.name}' already exists in storage memory`);
      const record: StudyRecord = { spec: clone(spec), createdAt: now(), budget: null, stateVersion: 0 };
      studies.set(spec.name, { record, trials: [], state: null });
      return clone(record);
    },
    getStudy: (name) => (studies.has(name) ? clone(studies.get(name)!.record) : undefined),
    listStudies: () => [...studies.values()].map((s) => clone(s.record)),
    createTrial: (name, arch, worker) => txOf(study(name)).insert(arch, worker ?? null, worker === undefined ? null : Date.now()),
    reserveTrial: (name, request) => reserveIn(txOf(study(name)), request),
    finishTrial: (name, number, outcome) => finishIn(txOf(study(name)), name, number, outcome),
    heartbeat(name, worker) {
      const mine = study(name).trials.filter((t) => t.state === 'running' && t.worker === worker);
      for (const t of mine) t.heartbeat = Date.now();
      return mine.length;
    },
    expireTrials: (name, opts) => expireIn(txOf(study(name)), opts),
    setBudget(name, budget) {
      study(name).record.budget = budget;
    },
    trials: (name) => study(name).trials.map(publicTrial),
    controllerState(name) {
      const s = study(name).state;
      return s === null ? undefined : JSON.parse(s);
    },
    discardAfter(name, number, reason) {
      const s = study(name);
      const later = s.trials.filter((t) => t.number > number && t.state !== 'failed');
      for (const t of later) {
        Object.assign(t, { state: 'failed', error: reason, finishedAt: now(), savedState: null });
      }
      s.state = s.trials.filter((t) => t.savedState !== null).at(-1)?.savedState ?? null;
      s.record.stateVersion++;
      return later.length;
    },
    close() {},
  };
}
