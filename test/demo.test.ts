import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { projectRoot } from '../src/core/index.js';
import { DEMO_TABLE, demoControllers, medianInterval, randomController, registerController, runDemo } from '../src/nas/index.js';
import { tempDir } from './temp-dir.js';

const dir = tempDir('kiln-demo-');
const small = { seeds: 3, budget: 40, objective: 'cifar10_test_acc', constraint: 'latency_ms_pixel3<=6', controllers: ['random', 'evolution'] };

test('the default comparison is random, evolution, predictor, tabnas plus every table controller registered at run time', () => {
  const before = demoControllers();
  assert.deepEqual(before.slice(0, 4), ['random', 'evolution', 'predictor', 'tabnas']);
  assert.ok(!before.includes('reinforce') && !before.includes('coarse-to-fine'), 'controllers needing a preset or a finite selection stay out');
  registerController('demo-test-search', randomController, 'a controller registered later (like local-search)');
  assert.deepEqual(demoControllers(), [...before, 'demo-test-search']);
});

test('medians come with a distribution-free 95% interval; never-reached values sort last', () => {
  assert.deepEqual(medianInterval([5, 1, 3]), { median: 3, lo: 1, hi: 5 });
  const ten = medianInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // n = 10: P(Bin(10, 1/2) < 2) = 11/1024 <= 0.025 < P(< 3), so order statistics 2 and 9.
  assert.deepEqual(ten, { median: 5.5, lo: 2, hi: 9 });
  assert.equal(medianInterval([4, Infinity, Infinity]).median, Infinity);
});

test('the demo report leads with the strongest method, compared with random search, and resumes', async () => {
  const out = path.join(dir, 'straight');
  const run = await runDemo({ out, ...small });
  assert.equal(run.evaluations, 2 * 3 * 40);
  const md = fs.readFileSync(run.report!.md, 'utf8');
  const body = md.split('\n').slice(2).join('\n');
  assert.match(body, /^\*\*(random search|evolution)\*\* is the strongest method here/, 'the first paragraph names the strongest');
  assert.match(run.lead, /within 0\.2 of the best feasible cifar10_test_acc \(\d+\.\d\d\)/);
  assert.match(run.lead, /(random search needs a median of \d+ evaluations|random search \d+\/3 runs get there|evolution needs)/);
  assert.match(md, /\| controller \| seeds \| best feasible after 40 \| evaluations to get within 0\.2 \|/);

  // Stopped after 50 evaluations, then resumed: the same runs as the straight search.
  const resumedOut = path.join(dir, 'resumed');
  const stop = new AbortController();
  const partial = await runDemo({ out: resumedOut, ...small, signal: stop.signal, onProgress: (done) => done >= 50 && stop.abort() });
  assert.ok(partial.stopped && partial.report === null);
  const resumed = await runDemo({ out: resumedOut, ...small });
  assert.equal(resumed.lead, run.lead);
  assert.equal(resumed.best?.arch, run.best?.arch);
});

test('the demo runs on another table of the same shape with its own objective and constraint', async () => {
  const csv = fs.readFileSync(DEMO_TABLE, 'utf8').split('\n');
  csv[0] = csv[0].replace('arch', 'cell').replace('cifar10_test_acc', 'top1');
  const table = path.join(dir, 'renamed.csv');
  fs.writeFileSync(table, csv.join('\n'));
  const run = await runDemo({ out: path.join(dir, 'other'), ...small, table, archColumn: 'cell', objective: 'top1', constraint: 'latency_ms_raspi4<=20', controllers: ['random', 'tabnas'] });
  assert.equal(run.limitMetric, 'latency_ms_raspi4');
  assert.ok(run.best && Number(run.best.metrics.latency_ms_raspi4) <= 20);
  assert.match(fs.readFileSync(run.report!.md, 'utf8'), /constrained search of renamed\.csv/);
  await assert.rejects(runDemo({ out: path.join(dir, 'bad'), ...small, controllers: ['random', 'bogus'] }), /unknown controller 'bogus'/);
  await assert.rejects(runDemo({ out: path.join(dir, 'bad'), ...small, table: path.join(dir, 'missing.csv') }), /not found/);
});

test('a reader that closes the pipe early (kiln study export ... | head) ends the command quietly with success', { skip: process.platform === 'win32' }, () => {
  const db = path.join(dir, 'straight', 'kiln.db');
  assert.ok(fs.existsSync(db), 'the demo test above stored its studies');
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  // `true` exits without reading, so every write to the pipe fails with EPIPE.
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" study export demo-random-seed1 --storage "sqlite:${db}" | true; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'status=0');
  assert.equal(r.stderr, '', 'no EPIPE stack');
});
