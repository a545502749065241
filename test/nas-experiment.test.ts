import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { createRng } from '../src/core/index.js';
import { memoryStorage, nb201Space, runNasExperiment, sqliteStorage, type NasExperimentConfig } from '../src/nas/index.js';
import { register } from '../src/cli/commands/experiment-nas.js';

/**
 * A made-up table of the same shape as NAS-Bench-201's: every cell, another objective name
 * (top1, in [0, 1]), three other devices. Convolutions raise top1 and latency; devices weigh
 * ops differently, so the worst device changes from cell to cell.
 */
function syntheticTable(): string {
  const rng = createRng(7);
  const lines = ['cell,top1,latency_ms_phone,latency_ms_board,latency_ms_server'];
  const gain = [0, 0.03, 0.05, 0.08, 0.02];
  const cost = [[0, 0.1, 1, 3, 0.5], [0, 0.2, 2, 4, 2], [0, 0.05, 0.5, 1, 0.3]];
  for (let k = 0; k < 15625; k++) {
    const values = Array.from({ length: 6 }, (_, i) => Math.floor(k / 5 ** i) % 5);
    const top1 = 0.4 + values.reduce((s, v, i) => s + gain[v] * (i === 5 ? 1.5 : 1), 0) + 0.01 * rng.normal();
    const lat = cost.map((c) => 1 + values.reduce((s, v) => s + c[v], 0) * (0.9 + 0.2 * rng.next()));
    lines.push([nb201Space.toString({ values }), top1.toFixed(4), ...lat.map((l) => l.toFixed(3))].join(','));
  }
  return lines.join('\n');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-exp-'));
const tableFile = path.join(dir, 'synthetic.csv');
fs.writeFileSync(tableFile, syntheticTable());

const config = (over: Partial<NasExperimentConfig> = {}): NasExperimentConfig => ({
  table: tableFile, space: 'nb201', archColumn: 'cell', objective: 'top1', direction: 'max',
  constraints: ['worst_latency(phone,board,server)<=1'], controllers: ['random', 'evolution', 'tabnas', 'reinforce_abs', 'reinforce_mnas', 'predictor'],
  seeds: 2, budget: 40, within: 0.02, ...over,
});

test('every controller runs on another table of the same shape, under a device-set constraint', async () => {
  const r = await runNasExperiment(config(), { storage: memoryStorage() });
  assert.equal(r.runs.length, 12);
  for (const run of r.runs) {
    assert.equal(run.evaluated, 40, `${run.controller} evaluated its budget`);
    if (run.controller !== 'reinforce_abs' && run.controller !== 'reinforce_mnas') {
      assert.ok(run.pickFeasible, `${run.controller}: hard-constrained picks are feasible`);
      assert.ok(run.curve.every((v) => !Number.isNaN(v)), 'every evaluation was feasible');
    }
    const finite = run.curve.filter((v) => !Number.isNaN(v));
    assert.ok(finite.every((v, i) => i === 0 || v >= finite[i - 1]), 'best-so-far never drops');
    assert.ok(finite.every((v) => v <= r.optimum.value));
  }
  assert.equal(r.runs.find((x) => x.controller === 'tabnas')!.proposals > 40, true, 'tabnas rejected some samples');
});

test('the experiment resumes from its SQLite studies and gives the same runs', async () => {
  const db = path.join(dir, 'studies.db');
  const small = config({ controllers: ['evolution', 'tabnas'], seeds: 2, budget: 25 });
  const stop = new AbortController();
  let storage = sqliteStorage(db);
  const partial = await runNasExperiment(small, { storage, signal: stop.signal, onRun: (_, n) => n === 2 && stop.abort() });
  storage.close();
  assert.equal(partial.runs.length, 2);
  storage = sqliteStorage(db);
  const resumed = await runNasExperiment(small, { storage });
  storage.close();
  const straight = await runNasExperiment(small, { storage: memoryStorage() });
  const strip = (rs: typeof straight.runs) => rs.map(({ curve, pick, controller, seed }) => ({ curve, pick, controller, seed }));
  assert.deepEqual(strip(resumed.runs), strip(straight.runs));
});

test('kiln experiment nas writes the report, figures and CSVs; bad input fails clearly', async () => {
  const out = path.join(dir, 'cli');
  const program = new Command().exitOverride();
  register(program);
  const args = ['--table', tableFile, '--arch-column', 'cell', '--objective', 'top1', '--controllers', 'random,tabnas,reinforce_mnas',
    '--seeds', '2', '--budget', '20', '--devices', 'phone,board,server', '--device-metric', 'avg_latency', '--device-limit', '1.1', '--within', '0.02', '--out', out];
  await program.parseAsync(['node', 'kiln', 'experiment', 'nas', ...args]);
  for (const f of ['report.html', 'report.md', 'best-so-far.svg', 'pick-feasible.svg', 'runs.csv', 'curves.csv', 'studies.db']) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  assert.equal(fs.readFileSync(path.join(out, 'runs.csv'), 'utf8').trim().split('\n').length, 7);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(md, /avg_latency\(phone,board,server\)<=1.1/);
  assert.match(md, /median latency of all cells/);
  await assert.rejects(program.parseAsync(['node', 'kiln', 'experiment', 'nas', ...args, '--controllers', 'bogus']), /unknown controller 'bogus'/);
  await assert.rejects(program.parseAsync(['node', 'kiln', 'experiment', 'nas', ...args, '--devices', 'phone,tpu']), /device 'tpu' has no latency_ms_tpu column/);
});
