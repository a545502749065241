import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { createRng } from '../src/core/index.js';
import {
  experimentCurve, experimentSummary, memoryStorage, nasExperimentReport, nb201Space, runNasExperiment, sqliteStorage,
  type BenchmarkTable, type NasExperimentConfig, type NasExperimentResult, type RunResult,
} from '../src/nas/index.js';
import { toMarkdown } from '../src/report/index.js';
import { register } from '../src/cli/commands/experiment-nas.js';
import { tempDir } from './temp-dir.js';

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

const dir = tempDir('kiln-exp-');
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

/** A hand-made result: runs stopped at the target (short curves), one run that never got there. */
function stoppedFixture(direction: 'max' | 'min'): NasExperimentResult {
  const sign = direction === 'max' ? 1 : -1;
  const run = (controller: string, seed: number, curve: number[], reach: number | null): RunResult => ({
    controller, seed, study: `${controller}-seed${seed}`, evaluated: curve.length, proposals: curve.length, rejections: 0,
    curve: curve.map((v) => sign * v), reach, pick: null, pickFeasible: true, pickValue: null, pickGap: 0,
  });
  return {
    config: { table: 't.csv', space: 'nb201', objective: 'err', direction, constraints: [], controllers: ['fast', 'slow'], seeds: 3, budget: 10, within: 1, stopAtTarget: true },
    table: { size: 100 } as BenchmarkTable,
    presets: { fast: { controller: 'random', options: {}, soft: false, description: 'f' }, slow: { controller: 'random', options: {}, soft: false, description: 's' } },
    constraints: [],
    optimum: { value: sign * 10, arch: 'a' },
    runs: [
      run('fast', 1, [5, 9], 2), run('fast', 2, [6, 7, 9.5], 3), run('fast', 3, [9], 1),
      run('slow', 1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9], 9), run('slow', 2, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], null), run('slow', 3, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], null),
    ],
  };
}

test('stopped runs carry their final value forward and every run counts in evaluations to target', () => {
  const result = stoppedFixture('max');
  const curve = experimentCurve(result.runs.filter((r) => r.controller === 'fast'), 10);
  assert.equal(curve.x.length, 10, 'the curve runs to the budget');
  assert.ok(Math.abs(curve.y[9] - (9 + 9.5 + 9) / 3) < 1e-9, 'all three stopped runs count at k = 10 with their final values');
  const [fast, slow] = experimentSummary(result);
  assert.deepEqual([fast.reached, fast.reachMean, fast.reachMedian, fast.reachCensored], [3, 2, 2, false]);
  assert.deepEqual([slow.reached, slow.reachMedian, slow.reachCensored], [1, Infinity, true]);
  assert.ok(Math.abs(slow.reachMean - (9 + 10 + 10) / 3) < 1e-9, 'runs that never got there count as the budget: a lower bound');
  const md = toMarkdown(nasExperimentReport(result).doc);
  assert.match(md, /\| best feasible at the end \|/);
  assert.match(md, /"at the end": when a run stopped at the target, else after 10 evaluations/);
  assert.match(md, /\| fast \| 3 \| [\d.]+ ± [\d.]+ \| 3\/3 \| 2 \/ 2 \|/);
  assert.match(md, /\| slow \| 3 \| [\d.]+ ± [\d.]+ \| 1\/3 \| ≥ 10 \/ not reached \|/);
});

/** The numbers printed as y tick labels of an SVG plot. */
const yTicks = (svg: string) => [...svg.matchAll(/<text x="58" y="[\d.]+" text-anchor="end">([^<]+)<\/text>/g)].map((m) => Number(m[1]));

test('with --direction min the best-so-far plot spans the minimized values, optimum included', () => {
  for (const direction of ['max', 'min'] as const) {
    const result = stoppedFixture(direction);
    const svg = nasExperimentReport(result).figures['best-so-far.svg'];
    const ticks = yTicks(svg);
    assert.ok(ticks.length >= 3, `${direction}: y ticks`);
    const [lo, hi] = [Math.min(...ticks), Math.max(...ticks)];
    const sign = direction === 'max' ? 1 : -1;
    // The optimum and the late means (about 7.5 to 10 in magnitude) lie inside the ticked range.
    for (const v of [10, 9, 7.5].map((x) => sign * x)) assert.ok(v >= lo - 1 && v <= hi + 1, `${direction}: ${v} in [${lo}, ${hi}]`);
    assert.ok(!/e[+-]\d/.test(svg), 'plain tick labels');
  }
});
