/**
 * The 'train' evaluator under `kiln study create` + `kiln worker`: two worker processes train the
 * candidates of one study (MLP widths on iris, a few steps each) to exactly its budget; the
 * evaluator's options live in the study, joining with other options is refused naming them, and
 * bad options are one `kiln:` line and exit 2. The workers run on SQLite, and on PostgreSQL when a server is set.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/backend/index.js';
import { register as registerStudy } from '../src/cli/commands/study.js';
import { KilnError } from '../src/core/index.js';
import { loadDataset, splitDataset, standardizeSplits } from '../src/data/index.js';
import {
  createEvaluator, getSpace, listTrialArtifacts, memoryStorage, mlpParams, mlpWidths, normalizeStudy, openStorage, runStudy, trialArtifactDir, TRAIN_METRICS,
  type Trial,
} from '../src/nas/index.js';
import { loadModel } from '../src/nn/index.js';
import { evaluate } from '../src/train/index.js';
import { runCommands } from './helpers.js';
import { dropTestSchemas, freshPostgresUri, noPostgres } from './postgres.js';
import { tempDir } from './temp-dir.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const env = { ...process.env, KILN_THREADS: '1' };
const kiln = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 120_000 });
const STEPS = 6;
const createArgs = (storage: string, extra: string[] = []) => ['study', 'create', '--space', 'mlp2', '--evaluator', 'train',
  '--evaluator-option', 'dataset=iris', '--evaluator-option', `steps=${STEPS}`, '--evaluator-option', 'batch=16',
  '--objective', 'val_acc', '--budget', '6', '--seed', '2', '--storage', storage, '--study', 't1', ...extra];
const freshStorage = () => `sqlite:${path.join(tempDir('kiln-train-worker-'), 'w.db')}`;

function startWorker(storage: string, extra: string[] = []) {
  const child = spawn(process.execPath, [CLI, 'worker', '--storage', storage, '--study', 't1', '--json', ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

after(dropTestSchemas);

const backends: [string, () => string, string | false][] = [['sqlite', freshStorage, false], ['postgres', freshPostgresUri, noPostgres]];
for (const [backend, storageUri, skip] of backends) test(`two workers train the trials of one study on ${backend} to exactly its budget, every trial with its accuracy and its files`, { skip }, async () => {
  const storage = storageUri();
  const made = kiln(createArgs(storage));
  assert.equal(made.status, 0, made.stderr);
  const artifacts = tempDir('kiln-train-artifacts-');
  const runs = await Promise.all([startWorker(storage, ['--artifacts', artifacts]), startWorker(storage, ['--artifacts', artifacts])]);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const reports = runs.map((r) => JSON.parse(r.stdout) as { worker: string; done: number; finished: number });
  assert.deepEqual(reports.map((r) => r.done), [6, 6]);

  const s = openStorage(storage, { create: false });
  const [record, trials] = [s.getStudy('t1')!, s.trials('t1')];
  s.close();
  assert.deepEqual(record.spec.evaluatorOptions, { dataset: 'iris', steps: STEPS, batch: 16, lr: 0.01, seed: 0 }, 'stored with defaults filled in');
  assert.equal(trials.length, 6);
  assert.ok(trials.every((t) => t.state === 'complete' && t.feasible), 'exactly the budget, none failed');
  assert.equal(reports.reduce((n, r) => n + r.finished, 0), 6, 'each trial trained by one worker');
  const space = getSpace('mlp2');
  for (const t of trials) {
    const { val_acc, test_acc, params, train_steps } = t.metrics;
    assert.ok(val_acc >= 0 && val_acc <= 1 && test_acc >= 0 && test_acc <= 1, `accuracies of trial ${t.number}: ${val_acc}, ${test_acc}`);
    assert.equal(t.value, val_acc);
    assert.equal(params, mlpParams(4, mlpWidths(space, space.parse(t.arch)), 3));
    assert.ok(train_steps >= STEPS && train_steps < STEPS + 6, `train_steps ${train_steps}`);
  }
  await checkTrialFiles(artifacts, trials);
});

/**
 * Each trial kept its files, and they are its own: the saved model scores the stored validation
 * accuracy on the study's split, trial.json repeats the stored metrics, the loss curve is an SVG.
 */
async function checkTrialFiles(root: string, trials: readonly Trial[]): Promise<void> {
  assert.deepEqual(fs.readdirSync(path.join(root, 't1')).sort(), trials.map((t) => `trial-${t.number}`).sort(), 'one folder per trial, no temporary ones');
  await initBackend();
  const { splits } = standardizeSplits(splitDataset(loadDataset('iris'), { seed: 0 }));
  for (const t of trials) {
    assert.deepEqual(listTrialArtifacts(root, 't1').get(t.number), ['loss.svg', 'model.json', 'trial.json', 'weights.bin']);
    const dir = trialArtifactDir(root, 't1', t.number);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'trial.json'), 'utf8'));
    assert.equal(record.arch, t.arch);
    assert.deepEqual(record.metrics, Object.fromEntries(Object.entries(t.metrics).filter(([k]) => TRAIN_METRICS.includes(k as never))));
    assert.match(fs.readFileSync(path.join(dir, 'loss.svg'), 'utf8'), /^<svg[^]*<path d="M/);
    const model = await loadModel(dir);
    try {
      assert.equal((model.getUserDefinedMetadata() as { kiln: { data: string } }).kiln.data, 'iris', 'tagged for kiln explain');
      assert.equal((await evaluate(model, splits.val)).accuracy, t.metrics.val_acc, `trial ${t.number}'s saved model scores its val_acc`);
    } finally {
      model.dispose();
    }
  }
}

test('the train evaluator is seeded: the same candidate trains to the same accuracies', async () => {
  await initBackend();
  const space = getSpace('mlp2');
  const spec = normalizeStudy({ name: 'x', space: 'mlp2', objective: 'val_acc', evaluator: 'train', evaluatorOptions: { dataset: 'iris', steps: 30 } });
  const evaluator = createEvaluator('train', { space, options: spec.evaluatorOptions });
  const arch = space.parse('16-8');
  const [a, b] = [await evaluator.evaluate(arch), await evaluator.evaluate(arch)];
  assert.equal(a.val_acc, b.val_acc);
  assert.equal(a.test_acc, b.test_acc);
  assert.ok(a.val_acc > 1 / 3, `30 steps on iris beat chance (val_acc ${a.val_acc})`);
});

test('a params limit on trained trials is free: candidates over it are never trained, the rest are', async () => {
  const storage = memoryStorage();
  const run = await runStudy({
    study: { name: 'small', space: 'mlp2', objective: 'val_acc', evaluator: 'train', evaluatorOptions: { dataset: 'iris', steps: 3 }, controller: 'random', constraints: ['params<=300'], seed: 1 },
    storage, budget: 3,
  });
  const space = getSpace('mlp2');
  const [over, under] = [run.trials.filter((t) => !t.feasible), run.trials.filter((t) => t.feasible)];
  assert.equal(under.length, 3);
  assert.ok(over.length > 0, 'the random controller proposed wider MLPs too');
  for (const t of run.trials) assert.equal(t.metrics.params, mlpParams(4, mlpWidths(space, space.parse(t.arch)), 3));
  assert.ok(under.every((t) => t.metrics.params <= 300 && t.metrics.val_acc !== undefined));
  assert.ok(over.every((t) => t.metrics.params > 300 && t.metrics.val_acc === undefined && t.value === null), 'never trained');
});

const createHere = (args: string[]) => runCommands([registerStudy], args);

test('joining a training study with other evaluator options is refused, naming the option', async () => {
  const storage = freshStorage();
  await createHere(createArgs(storage));
  await assert.rejects(createHere(createArgs(storage, ['--evaluator-option', 'steps=12'])),
    (e: Error) => e instanceof KilnError && /^study 't1' exists with other settings \(evaluator option steps: stored 6, given 12\); [^\n]*$/.test(e.message));
});

test('bad evaluator options: one kiln: line and exit 2, before any training', async () => {
  const storage = freshStorage();
  const cli = kiln(createArgs(storage, ['--evaluator-option', 'steps=0']));
  assert.deepEqual([cli.status, cli.stderr], [2, `kiln: --evaluator-option: option 'steps' of evaluator 'train' must be <integer >= 1> (got "0")\n`]);
  const cases: [string[], RegExp][] = [
    [['--evaluator-option', 'epochs=3'], /evaluator 'train' has no option 'epochs' \(options: dataset=.*steps=/],
    [['--evaluator-option', 'dataset=nope'], /option 'dataset' of evaluator 'train' must be <iris\|wine\|/],
    [['--evaluator-option', 'lr=0'], /option 'lr' of evaluator 'train' must be above 0/],
    [['--evaluator-option', 'batch'], /--evaluator-option takes key=value/],
    [['--space', 'nb201'], /the 'train' evaluator builds MLPs from an MLP width space \(--space mlp2, mlp3, mlp4\); space 'nb201'/],
    [['--evaluator', 'table'], /evaluator 'table' has no option 'dataset' \(it takes no options\)/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(createHere(createArgs(storage, extra)),
      (e: Error) => e instanceof KilnError && !e.message.includes('\n') && message.test(e.message), extra.join(' '));
  }
  const s = openStorage(storage, { create: false });
  assert.deepEqual(s.listStudies(), [], 'no study was created');
  s.close();
});
