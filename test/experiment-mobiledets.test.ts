import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { register } from '../src/cli/commands/experiment-mobiledets.js';
import { KilnError } from '../src/core/index.js';
import { groupCells, mobileDetsConclusion, mobileDetsVerdicts, type MobileDetsCell, type MobileDetsExperiment } from '../src/detect/index.js';
import { runCommands } from './helpers.js';
import { tempDir } from './temp-dir.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/index.js';

/** Why the tests that run onnxruntime are skipped here, or false where it loads. */
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

const kiln = (...args: string[]): Promise<string> => runCommands([register], ['experiment', 'mobiledets', ...args]);
const dir = tempDir('kiln-experiment-mobiledets-');
const quick = ['--targets', '0.12,0.2', '--seeds', '2', '--train', '64', '--val', '16', '--test', '24', '--latency-samples', '5', '--search-steps', '4', '--train-steps', '3', '--batch', '4'];

const cell = (method: string, seed: number, ap: number): MobileDetsCell =>
  ({ method, target: 1, seed, arch: 'a', measuredLatency: 1 + seed / 100, stats: [ap, ap, ...Array(10).fill(0)], trainSeconds: 1 });

describe('kiln experiment mobiledets', () => {
  it('verdicts: intervals apart say holds / does not hold, overlapping ones say no clear difference', () => {
    const groups = groupCells([
      cell('mobiledet', 1, 0.50), cell('mobiledet', 2, 0.52), cell('mobiledet', 3, 0.51),
      cell('mobiledet-ibn', 1, 0.30), cell('mobiledet-ibn', 2, 0.31), cell('mobiledet-ibn', 3, 0.32),
      cell('mobilenetv2', 1, 0.60), cell('mobilenetv2', 2, 0.61), cell('mobilenetv2', 3, 0.62),
      cell('mobilenetv3', 1, 0.40), cell('mobilenetv3', 2, 0.60), cell('mobilenetv3', 3, 0.55),
    ]);
    const full = groups.find((g) => g.method === 'mobiledet')!;
    assert.ok(Math.abs(full.ap.mean - 0.51) < 1e-12 && full.ap.n === 3 && full.ap.half > 0);
    const v = mobileDetsVerdicts(groups);
    assert.match(v[0], /IBN-only space .*better by 0\.200 AP \(intervals apart\): holds/);
    assert.match(v[1], /mobilenetv2-like .*worse by 0\.100 AP \(intervals apart\): does not hold/);
    assert.match(v[2], /mobilenetv3-like .*no clear difference/);
    assert.match(mobileDetsConclusion(groups), /holds here only in part.*Of 3 comparisons.*1 favour it.*1 favour the other side.*1 are within/);
  });

  it('runs every method at every target and seed, reports, and resumes from its finished cells', { skip: noOrt }, async () => {
    const out = await kiln(...quick, '--out', dir);
    const e = JSON.parse(fs.readFileSync(path.join(dir, 'experiment.json'), 'utf8')) as MobileDetsExperiment;
    assert.equal(e.device, 'ort_b1');
    assert.equal(e.cells.length, 4 * 2 * 2);
    for (const method of ['mobiledet-ibn', 'mobiledet', 'mobilenetv2', 'mobilenetv3']) {
      for (const target of [0.12, 0.2]) {
        const g = e.groups.find((x) => x.method === method && x.target === target);
        assert.ok(g && g.ap.n === 2, `${method} at ${target}`);
      }
    }
    // Baselines are matched to the full-space picks: the chosen multiplier's latency is the nearest of the measured ones.
    for (const c of e.cells.filter((x) => x.multiplier !== undefined)) {
      const goal = e.groups.find((g) => g.method === 'mobiledet' && g.target === c.target)!.latency.mean;
      const options = e.baselineLatency.filter((b) => b.method === c.method);
      const chosen = options.find((b) => b.multiplier === c.multiplier)!;
      assert.ok(options.every((b) => Math.abs(chosen.latency - goal) <= Math.abs(b.latency - goal)));
    }
    // A width matched at both targets is trained once per seed and reported at both.
    for (const c of e.cells.filter((x) => x.multiplier !== undefined && x.target === 0.2)) {
      const twin = e.cells.find((x) => x.method === c.method && x.seed === c.seed && x.target === 0.12)!;
      if (twin.multiplier === c.multiplier) assert.deepEqual({ ...twin, target: 0.2 }, c);
    }
    assert.match(out, /^Target 0\.12 ms: full space .* vs IBN-only space/m);
    for (const file of ['report.html', 'report.md', 'map-vs-latency.svg']) assert.ok(fs.existsSync(path.join(dir, file)), file);
    const again = await kiln(...quick, '--out', dir);
    const e2 = JSON.parse(fs.readFileSync(path.join(dir, 'experiment.json'), 'utf8')) as MobileDetsExperiment;
    assert.deepEqual(e2.cells, e.cells);
    assert.equal(again.split('\n').filter((l) => l.startsWith('Target')).length, out.split('\n').filter((l) => l.startsWith('Target')).length);
  });

  it('refuses to resume with other settings or data, and names a damaged cell, before any work', { skip: noOrt }, async () => {
    const refused = (extra: string[], message: RegExp) => assert.rejects(kiln(...quick, ...extra, '--out', dir),
      (e: unknown) => e instanceof KilnError && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n'));
    await refused(['--train-steps', '5'], /holds a run with other settings \(train \{"steps":3,.*\} -> \{"steps":5,.*\}\); use another --out/);
    await refused(['--loss', 'hard-negatives'], /other settings \(loss "focal" -> "hard-negatives"\)/);
    await refused(['--data-seed', '1'], /other settings \(the data\)/);
    const cells = path.join(dir, 'cells');
    const victim = path.join(cells, fs.readdirSync(cells).find((f) => f.startsWith('mobiledet_'))!);
    const kept = fs.readFileSync(victim);
    fs.writeFileSync(victim, '{"method": "mobiledet"');
    await refused([], /finished experiment cell .* is not valid JSON/);
    fs.writeFileSync(victim, '{"method": "mobiledet"}');
    await refused([], /finished experiment cell .* is not one \(method, measuredLatency, twelve stats\); delete it/);
    fs.writeFileSync(victim, kept);
    // A folder with cells but no recorded settings (an older run) is not mixed with this one.
    const old = path.join(dir, 'older');
    fs.mkdirSync(path.join(old, 'cells'), { recursive: true });
    await assert.rejects(kiln(...quick, '--out', old), /holds finished cells but no settings\.json/);
  });

  const cases: [string, string[], RegExp][] = [
    ['a target that is no number', ['--targets', '0.1,fast'], /--targets must be a number, got 'fast'/],
    ['a non-negative beta', ['--beta', '0'], /--beta must be negative/],
    ['a missing --out', [], /needs --out DIR/],
    ['an unknown dataset', ['--data', 'nope', '--out', path.join(dir, 'x')], /unknown detection dataset 'nope'/],
  ];
  for (const [what, extra, message] of cases) {
    it(`rejects ${what} with a one-line KilnError (exit 2)`, () => assert.rejects(kiln(...quick, ...extra),
      (e: unknown) => e instanceof KilnError && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n')));
  }
});
