import { KilnError } from '../../core/index.js';
import type { Storage, StudyRecord, StudySpec, Trial, TrialOutcome } from './types.js';

interface StudyData {
  record: StudyRecord;
  trials: Trial[];
  /** JSON text by trial number, so stored state is a snapshot like SQLite's. */
  states: Map<number, string>;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Process-local storage: fast, for tests, benchmarks and throwaway searches. */
export function memoryStorage(): Storage {
  const studies = new Map<string, StudyData>();
  const study = (name: string): StudyData => {
    const s = studies.get(name);
    if (!s) throw new KilnError(`no study named '${name}' in storage memory`);
    return s;
  };
  return {
    uri: 'memory',
    createStudy(spec: StudySpec) {
      if (studies.has(spec.name)) throw new KilnError(`study '${spec.name}' already exists in storage memory`);
      const record = { spec: clone(spec), createdAt: new Date().toISOString() };
      studies.set(spec.name, { record, trials: [], states: new Map() });
      return clone(record);
    },
    getStudy: (name) => (studies.has(name) ? clone(studies.get(name)!.record) : undefined),
    listStudies: () => [...studies.values()].map((s) => clone(s.record)),
    createTrial(name, arch) {
      const s = study(name);
      const trial: Trial = {
        number: s.trials.length, arch, state: 'running', feasible: false, value: null,
        metrics: {}, error: null, startedAt: new Date().toISOString(), finishedAt: null,
      };
      s.trials.push(trial);
      return clone(trial);
    },
    finishTrial(name, number, outcome: TrialOutcome) {
      const s = study(name);
      const t = s.trials[number];
      if (!t || t.state !== 'running') throw new Error(`trial ${number} of study '${name}' is not running`);
      Object.assign(t, {
        state: outcome.state, feasible: outcome.feasible, value: outcome.value, metrics: clone(outcome.metrics),
        error: outcome.error ?? null, finishedAt: new Date().toISOString(),
      });
      if (outcome.controllerState !== undefined) s.states.set(number, JSON.stringify(outcome.controllerState));
      return clone(t);
    },
    trials: (name) => clone(study(name).trials),
    controllerState(name) {
      const states = study(name).states;
      let last = -1;
      for (const n of states.keys()) last = Math.max(last, n);
      return last < 0 ? undefined : JSON.parse(states.get(last)!);
    },
    failRunning(name, reason) {
      let n = 0;
      for (const t of study(name).trials) {
        if (t.state !== 'running') continue;
        Object.assign(t, { state: 'failed', error: reason, finishedAt: new Date().toISOString() });
        n++;
      }
      return n;
    },
    discardAfter(name, number, reason) {
      const s = study(name);
      const later = s.trials.filter((t) => t.number > number && t.state !== 'failed');
      for (const t of later) {
        Object.assign(t, { state: 'failed', error: reason, finishedAt: new Date().toISOString() });
        s.states.delete(t.number);
      }
      return later.length;
    },
    close() {},
  };
}
