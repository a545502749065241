import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { register as detect } from '../src/cli/commands/detect.js';
import { register as oneshot } from '../src/cli/commands/oneshot-mobiledet.js';
import { KilnError } from '../src/core/index.js';
import { initBackend, tf } from '../src/backend/index.js';
import { mobileDetSpace, TINY_LAYOUT, type MobileDetOneShotSummary } from '../src/detect/index.js';
import { runCommands } from './helpers.js';
import { tempDir } from './temp-dir.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/index.js';

/** Why the tests that run onnxruntime are skipped here, or false where it loads. */
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

const kiln = (...args: string[]): Promise<string> => runCommands([oneshot, detect], args);
const dir = tempDir('kiln-oneshot-mobiledet-');
const quick = ['oneshot', 'mobiledet', '--device', 'onnx', '--latency-target', '0.15', '--layout', 'tiny', '--latency-samples', '6',
  '--search-steps', '8', '--train-steps', '6', '--batch', '4', '--seed', '2'];

describe('kiln oneshot mobiledet', () => {
  it('searches, trains the pick, evaluates it and writes the model, summary.json and the report', { skip: noOrt }, async () => {
    const out = await kiln(...quick, '--space', 'full', '--out', dir);
    assert.match(out, /^found \S+ \(\d+ parameters\): predicted \d+\.\d{3} ms, measured \d+\.\d{3} ms \(target 0\.15\)$/m);
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as MobileDetOneShotSummary;
    assert.equal(s.space, 'mobiledet');
    assert.equal(s.device, 'onnx');
    assert.equal(s.latencyModel.device, 'ort_b1');
    mobileDetSpace('full', TINY_LAYOUT).parse(s.arch);
    assert.ok(s.measuredLatency > 0 && s.predictedLatency > 0);
    assert.equal(s.search.steps, 8);
    assert.equal(s.train.steps, 6);
    assert.equal(s.stats.length, 12);
    // The saved model is the evaluated one: kiln detect eval on it gives the summary's stats.
    const again = JSON.parse(await kiln('detect', 'eval', '--model', path.join(dir, 'model'), '--data', 'shapes-det', '--json')) as { stats: number[] };
    assert.deepEqual(again.stats, s.stats);
    for (const file of ['report.html', 'report.md', 'search-loss.svg', 'latency.svg', 'detections.png']) assert.ok(fs.existsSync(path.join(dir, file)), file);
    assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), new RegExp(s.arch));
    // Re-running the same command resumes the finished search from its checkpoint: the same pick, trained the same way.
    await kiln(...quick, '--space', 'full', '--out', dir);
    const resumed = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as MobileDetOneShotSummary;
    assert.equal(resumed.arch, s.arch);
    assert.deepEqual(resumed.search.losses, s.search.losses);
    assert.deepEqual(resumed.stats, s.stats);
  });

  it('--device wasm measures on the wasm backend in a worker thread while training runs on this process\'s backend', async () => {
    const out = path.join(dir, 'wasm');
    const backend = await initBackend(); // the one the command trains on, whether or not a test ran before
    await kiln('oneshot', 'mobiledet', '--device', 'wasm', '--latency-target', '2', '--layout', 'tiny', '--latency-samples', '4',
      '--search-steps', '4', '--train-steps', '2', '--batch', '4', '--seed', '2', '--out', out);
    const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as MobileDetOneShotSummary;
    assert.equal(s.device, 'wasm');
    assert.equal(s.latencyModel.device, 'wasm_b1');
    assert.ok(s.measuredLatency > 0 && s.latencyModel.rangeMs[0] > 0);
    assert.equal(tf.getBackend(), backend);
  });

  const cases: [string, string[], RegExp][] = [
    ['a negative latency target', ['--latency-target', '-1'], /--latency-target must be a positive number/],
    ['a non-negative beta', ['--beta', '0.1'], /--beta must be negative/],
    ['too few latency samples', ['--latency-samples', '2'], /--latency-samples must be at least 4/],
    ['an unknown dataset', ['--data', 'nope'], /unknown detection dataset 'nope'/],
    ['a backend that contradicts the device', ['--device', 'native', '--backend', 'wasm'], /runs on the native backend/],
  ];
  for (const [what, extra, message] of cases) {
    it(`rejects ${what} with a one-line KilnError (exit 2), before any work`, () => assert.rejects(kiln(...quick, '--out', path.join(dir, 'bad'), ...extra),
      (e: unknown) => e instanceof KilnError && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n')));
  }
  it('rejects a run without --out', () => assert.rejects(kiln(...quick), /needs --out DIR/));
});
