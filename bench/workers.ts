/**
 * Studies shared by `kiln worker` processes on one storage (PostgreSQL by default):
 * 1. throughput: table trials per second with 1, 2, 4 workers on one study (from the trials' own
 *    start and finish times, so process start-up is not counted);
 * 2. the kill test: two workers run while one at a time is SIGKILLed at a random moment and
 *    replaced, `--kills` times (then the last two are killed too); two fresh workers finish the study
 *    to a budget set then. Reports trials lost (failed: a worker killed between trials loses none),
 *    how many of those were retried, duplicated trial numbers, and whether the budget came out exact.
 *
 * With `--evaluator train` the throughput studies train their trials instead (MLP widths, `--space`,
 * on `--dataset` for `--steps` steps each, random controller) and trials per hour are reported too.
 *
 *   node dist/bench/workers.js --storage postgresql://kiln:kiln@127.0.0.1:5432/kiln_test --budget 300 --kills 20
 *   node dist/bench/workers.js --storage sqlite:/tmp/w.db --evaluator train --dataset digits --steps 200 --budget 16 --workers 1,2 --kills 0
 *   node dist/bench/workers.js --evaluator train --workers 0 --kills 50 --budget 16 --artifacts /tmp/w-art   # kills mid-training
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, dataPath } from '../src/core/index.js';
import { listTrialArtifacts, openStorage, type Trial } from '../src/nas/index.js';
import { arg } from './args.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const storage = arg('--storage', process.env.KILN_TEST_POSTGRES ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln_test');
const budget = Number(arg('--budget', '300'));
const kills = Number(arg('--kills', '20'));
// `--workers 0` skips the throughput rows (kill test only).
const counts = arg('--workers', '1,2,4').split(',').map(Number).filter((n) => n > 0);
const rng = createRng(Number(arg('--seed', '1')));
const env = { ...process.env, KILN_THREADS: '1' };
const run = `bench${Date.now().toString(36)}`;
const trained = arg('--evaluator', 'table') === 'train';
const studyArgs = trained
  ? ['--space', arg('--space', 'mlp2'), '--evaluator', 'train', '--evaluator-option', `dataset=${arg('--dataset', 'digits')}`,
      '--evaluator-option', `steps=${arg('--steps', '200')}`, '--objective', 'val_acc', '--controller', 'random']
  : ['--table', dataPath('nb201', 'nb201-cifar10.csv'), '--objective', 'cifar10_test_acc', '--constraint', 'latency_ms_pixel3<=6'];

/** What each child wrote to stderr, to show when one exits by itself. */
const errors = new WeakMap<ChildProcess, string>();
const kiln = (args: string[]): ChildProcess => {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => errors.set(child, ((errors.get(child) ?? '') + d).slice(-2000)));
  return child;
};
/** `--artifacts DIR`: workers keep their trials' files there, and the kill test checks them. */
const artifacts = arg('--artifacts', '');
const worker = (study: string, extra: string[] = []) =>
  kiln(['worker', '--storage', storage, '--study', study, ...(artifacts ? ['--artifacts', artifacts] : []), ...extra]);
/** Resolves with the exit code once the child is gone (at once when it already is). */
const exited = (child: ChildProcess) => new Promise<number | null>((resolve) =>
  child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on('close', (code) => resolve(code)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function create(study: string, studyBudget: number): Promise<void> {
  const code = await exited(kiln(['study', 'create', ...studyArgs, '--budget', String(studyBudget), '--seed', '1', '--storage', storage, '--study', study]));
  if (code !== 0) throw new Error(`kiln study create exited ${code}`);
}

function trialsOf(study: string): Trial[] {
  const s = openStorage(storage, { create: false });
  try {
    return s.trials(study);
  } finally {
    s.close();
  }
}

const evaluated = (trials: Trial[]) => trials.filter((t) => t.state === 'complete' && t.feasible).length;

async function throughput(workers: number) {
  const study = `${run}-x${workers}`;
  await create(study, budget);
  const codes = await Promise.all(Array.from({ length: workers }, () => exited(worker(study))));
  const trials = trialsOf(study);
  const first = Math.min(...trials.map((t) => Date.parse(t.startedAt)));
  const last = Math.max(...trials.map((t) => Date.parse(t.finishedAt ?? t.startedAt)));
  const seconds = (last - first) / 1000;
  return {
    workers, codes: codes.join(','), trials: trials.length, evaluated: evaluated(trials), seconds,
    perSecond: trials.length / seconds, evaluatedPerSecond: evaluated(trials) / seconds,
    ...(trained ? { perHour: trials.length / seconds * 3600, meanTrainSeconds: trials.reduce((n, t) => n + (t.metrics.train_seconds ?? 0), 0) / trials.length } : {}),
    byWorker: [...new Set(trials.map((t) => t.worker))].length,
  };
}

/** Waits until the worker process `child` has reserved a trial (its pid is in the trial's worker id). */
async function started(study: string, child: ChildProcess): Promise<void> {
  const mine = (t: Trial) => t.worker !== null && t.worker.split(':')[1] === String(child.pid);
  while (child.exitCode === null && !trialsOf(study).some(mine)) await sleep(100);
}

async function killTest() {
  const study = `${run}-kill`;
  // Far more than the kill phase reaches; the last two workers get the final budget.
  await create(study, 1_000_000);
  const live: ChildProcess[] = [worker(study), worker(study)];
  /** SIGKILLs a worker once it has reserved a trial, at a random moment within the next second. */
  // Workers that ended by themselves before their kill: a crash, which the kill test must not hide.
  const ownExits: (number | null)[] = [];
  const kill = async (victim: ChildProcess) => {
    await started(study, victim);
    await sleep(rng.next() * 1000);
    if (victim.exitCode !== null) {
      ownExits.push(victim.exitCode);
      process.stderr.write(`a worker exited by itself with code ${victim.exitCode}: ${errors.get(victim) ?? ''}\n`);
    }
    victim.kill('SIGKILL');
    await exited(victim);
  };
  for (let k = 0; k < kills; k++) {
    const i = rng.int(live.length);
    await kill(live[i]);
    live[i] = worker(study);
    process.stderr.write(`kill ${k + 1}/${kills}\n`);
  }
  // The last two go too, so the final workers start on a study with nobody else on it.
  for (const w of live) await kill(w);
  const final = evaluated(trialsOf(study)) + budget;
  const codes = await Promise.all([0, 1].map(() => exited(worker(study, ['--budget', String(final)]))));
  const trials = trialsOf(study);
  const numbers = trials.map((t) => t.number);
  const failed = trials.filter((t) => t.state === 'failed');
  const retried = failed.filter((f) => trials.some((t) => t.number > f.number && t.arch === f.arch && t.state === 'complete')).length;
  return {
    kills: kills + live.length, workersThatExitedBeforeTheirKill: ownExits.join(',') || 'none', finalBudget: final, evaluated: evaluated(trials), exact: evaluated(trials) === final, lastCodes: codes.join(','),
    trials: trials.length, failed: failed.length, retried, running: trials.filter((t) => t.state === 'running').length,
    duplicateNumbers: numbers.length - new Set(numbers).size,
    ...(artifacts ? keptFiles(study, trials) : {}),
  };
}

/**
 * Evaluated trials without their model (must be none); failed trials with files (a worker killed
 * between keeping them and telling the trial); unfinished folders left by killed workers.
 */
function keptFiles(study: string, trials: Trial[]) {
  const kept = listTrialArtifacts(artifacts, study);
  const evaluatedTrials = trials.filter((t) => t.state === 'complete' && t.feasible);
  return {
    evaluatedWithoutModel: evaluatedTrials.filter((t) => !kept.get(t.number)?.includes('model.json')).length,
    failedWithFiles: trials.filter((t) => t.state === 'failed' && kept.has(t.number)).length,
    unfinishedFolders: fs.readdirSync(path.join(artifacts, study)).filter((d) => d.includes('.tmp-')).length,
  };
}

for (const n of counts) console.log(JSON.stringify(await throughput(n)));
if (kills > 0) console.log(JSON.stringify(await killTest()));
