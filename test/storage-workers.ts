/**
 * Real processes sharing one study through a Storage, for the conformance suite: each runs the
 * reserve / finish loop a `kiln worker` runs, with made-up architectures and a short random delay
 * standing in for the evaluation, and prints what it did as JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STORAGE_MODULE = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'nas', 'storage', 'index.js')).href;

export interface StorageWorkerOptions {
  id: number;
  budget: number;
  graceMs: number;
  /** Wall-clock time (ms) all workers wait for, so their loops overlap. */
  startAt: number;
  /** After finishing this many trials, reserve one more and hang until killed. */
  hangAfter?: number;
}

export interface StorageWorkerReport {
  finished: number[];
  retried: number;
  lost: number;
}

export interface StorageWorker {
  child: ChildProcess;
  /** Resolves when the child reserved the trial it hangs on (only with `hangAfter`). */
  hanging: Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; report?: StorageWorkerReport }>;
}

/** Every third proposal is infeasible: finished but not evaluated, so it must not use up the budget. */
const script = (uri: string, study: string, o: StorageWorkerOptions) => `
  const { openStorage, workerId, TrialNotRunningError } = await import(${JSON.stringify(STORAGE_MODULE)});
  const storage = openStorage(${JSON.stringify(uri)});
  const worker = workerId();
  const report = { finished: [], retried: 0, lost: 0 };
  let proposed = 0;
  while (Date.now() < ${o.startAt}) await new Promise((r) => setTimeout(r, 2));
  for (;;) {
    const r = storage.reserveTrial(${JSON.stringify(study)}, {
      worker, graceMs: ${o.graceMs}, budget: ${o.budget},
      propose: (slot) => ({ arch: 'w${o.id}-' + proposed++, state: { by: ${o.id}, after: slot.version } }),
    });
    if (!r.trial) {
      if (r.done) break;
      await new Promise((res) => setTimeout(res, 5));
      continue;
    }
    if (r.retry) report.retried++;
    if (${o.hangAfter ?? -1} === report.finished.length) {
      process.stdout.write('hanging\\n');
      await new Promise(() => setInterval(() => {}, 1000));
    }
    await new Promise((res) => setTimeout(res, Math.random() * 3));
    const feasible = r.trial.number % 3 !== 2;
    try {
      storage.finishTrial(${JSON.stringify(study)}, r.trial.number, {
        state: 'complete', feasible, value: feasible ? r.trial.number : null, metrics: {}, updateState: (slot) => ({ told: r.trial.number, after: slot.version }),
      });
      report.finished.push(r.trial.number);
    } catch (e) {
      if (!(e instanceof TrialNotRunningError)) throw e;
      report.lost++;
    }
  }
  storage.close();
  process.stdout.write(JSON.stringify(report) + '\\n');`;

export function spawnStorageWorker(uri: string, study: string, o: StorageWorkerOptions): StorageWorker {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script(uri, study, o)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let hung: () => void = () => {};
  const hanging = new Promise<void>((resolve) => { hung = resolve; });
  child.stdout!.on('data', (d) => {
    stdout += d;
    if (stdout.startsWith('hanging\n')) hung();
  });
  child.stderr!.on('data', (d) => { stderr += d; });
  const done = new Promise<Awaited<StorageWorker['done']>>((resolve) => child.on('close', (code, signal) => {
    const last = stdout.trim().split('\n').at(-1) ?? '';
    resolve({ code, signal, stderr, report: last.startsWith('{') ? JSON.parse(last) as StorageWorkerReport : undefined });
  }));
  return { child, hanging, done };
}
