import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { register } from '../src/cli/commands/detect.js';
import { KilnError, projectRoot } from '../src/core/index.js';
import { detect, detectOnnx, loadDetectionDataset, loadDetector } from '../src/detect/index.js';
import { runCommands } from './helpers.js';
import { tempDir } from './temp-dir.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/index.js';

/** Why the tests that run onnxruntime are skipped here, or false where it loads. */
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
const kiln = (...args: string[]): Promise<string> => runCommands([register], ['detect', ...args]);
const dir = tempDir('kiln-detect-model-cli-');
const at = (name: string) => path.join(dir, name);
const model = at('model');
const tiny = ['--data', 'shapes-det', '--layout', 'tiny', '--batch', '4', '--seed', '3'];
const stats = (out: string) => (JSON.parse(out) as { stats: number[] }).stats;

const rejectsWith = (args: string[], message: RegExp) => assert.rejects(kiln(...args),
  (e: unknown) => e instanceof KilnError && e.exitCode === 2 && message.test(e.message) && !e.message.includes('\n'));

describe('kiln detect train, predict, eval --model, export', () => {
  it('trains, checkpoints and saves a detector; --resume continues the checkpoint', async () => {
    const out = await kiln('train', ...tiny, '--steps', '3', '--out', model);
    assert.match(out, /^trained 3 steps/m);
    assert.match(out, /^val: AP \d\.\d{3}, AP50 \d\.\d{3} \(300 images\)$/m);
    assert.ok(fs.existsSync(path.join(model, 'model.json')) && fs.existsSync(path.join(model, 'weights.bin')));
    await rejectsWith(['train', ...tiny, '--steps', '3', '--out', model], /holds a checkpoint: pass --resume/);
    const resumed = await kiln('train', ...tiny, '--steps', '5', '--out', model, '--resume');
    assert.match(resumed, /resumed from .* at step 3$/m);
    assert.match(resumed, /^trained 5 steps/m);
  });

  it('--loss hard-negatives trains with SSD\'s mining; resuming its checkpoint with another loss is refused', async () => {
    const mined = at('mined');
    const out = await kiln('train', ...tiny, '--steps', '2', '--loss', 'hard-negatives', '--out', mined);
    assert.match(out, /^trained 2 steps in [\d.]+ s \(last loss \d+\.\d{4}\)$/m);
    await rejectsWith(['train', ...tiny, '--steps', '4', '--out', mined, '--resume'], /made with .* the hard-negatives loss; this run differs/);
    assert.match(await kiln('train', ...tiny, '--steps', '3', '--loss', 'hard-negatives', '--out', mined, '--resume'), /resumed from .* at step 2$/m);
  });

  it('predict writes a PNG grid and COCO results that kiln detect eval scores as eval --model does', async () => {
    const out = await kiln('predict', '--model', model, '--data', 'shapes-det', '--count', '3', '--score-threshold', '0',
      '--png', at('pred.png'), '--json', at('results.json'));
    assert.match(out, /wrote .*pred\.png: \d+ boxes scored >= 0 on the first 3 test images/);
    const png = PNG.sync.read(fs.readFileSync(at('pred.png')));
    assert.equal(png.width, 3 * (64 * 4 + 6) + 6);
    const results = JSON.parse(fs.readFileSync(at('results.json'), 'utf8')) as { image_id: number; score: number }[];
    assert.ok(results.length > 0 && results.every((r) => r.score >= 0.01));
    await kiln('data', '--data', 'shapes-det', '--split', 'test', '--gt-out', at('test-gt.json'));
    const fromFiles = stats(await kiln('eval', '--gt', at('test-gt.json'), '--dt', at('results.json'), '--json'));
    const fromModel = stats(await kiln('eval', '--model', model, '--data', 'shapes-det', '--json'));
    assert.equal(fromModel.length, 12);
    assert.deepEqual(fromModel, fromFiles);
  });

  it('export writes an ONNX graph that gives the saved model\'s boxes on onnxruntime', { skip: noOrt }, async () => {
    const out = await kiln('export', '--model', model, '--onnx', at('m.onnx'));
    assert.match(out, /input 'input' \[N, 64, 64, 3\].*output 'output' \[N, \d+, 7\]/);
    const d = await loadDetector(model);
    const images = loadDetectionDataset('shapes-det').test.slice(0, 2);
    const viaTfjs = await detect(d, images, { scoreThreshold: 0.01 });
    const viaOnnx = await detectOnnx(d, fs.readFileSync(at('m.onnx')), images, { scoreThreshold: 0.01 });
    d.model.dispose();
    assert.ok(viaTfjs.length > 0);
    assert.equal(viaOnnx.length, viaTfjs.length);
    viaOnnx.forEach((o, i) => {
      assert.equal(o.categoryId, viaTfjs[i].categoryId);
      assert.ok(Math.abs(o.score - viaTfjs[i].score) < 1e-4);
      o.box.forEach((v, k) => assert.ok(Math.abs(v - viaTfjs[i].box[k]) < 1e-2));
    });
  });

  const cases: [string, () => string[], RegExp][] = [
    ['train without --out', () => ['train', ...tiny], /needs --out/],
    ['an unknown architecture', () => ['train', ...tiny, '--arch', 'resnet', '--out', at('x')], /'resnet' is not a mobiledet architecture/],
    ['an unknown dataset', () => ['train', '--data', 'nope', '--out', at('x')], /unknown detection dataset 'nope'/],
    ['--resume without a checkpoint', () => ['train', ...tiny, '--out', at('empty'), '--resume'], /--resume: no checkpoint/],
    ['a learning rate that is no number', () => ['train', ...tiny, '--lr', 'fast', '--out', at('x')], /--lr/],
    ['predict with nothing to write', () => ['predict', '--model', model, '--data', 'shapes-det'], /needs --png FILE and\/or --json FILE/],
    ['a model folder without a model', () => ['predict', '--model', at('none'), '--data', 'shapes-det', '--png', at('p.png')], /not found/],
    ['data of other categories', () => ['eval', '--model', model, '--data', 'digits-det'], /are not the detector's/],
    ['eval with --model and --gt', () => ['eval', '--model', model, '--gt', at('test-gt.json'), '--data', 'shapes-det'], /either --model/],
    ['export without --onnx', () => ['export', '--model', model], /needs --onnx/],
  ];
  for (const [what, args, message] of cases) it(`rejects ${what} with a one-line KilnError (exit 2)`, () => rejectsWith(args(), message));

  it('a bad flag in a real process is one kiln: line on stderr and exit 2', () => {
    const r = spawnSync(process.execPath, [cli, 'detect', 'train', ...tiny, '--arch', 'resnet', '--out', at('x')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^kiln: 'resnet' is not a mobiledet architecture[^\n]*\n$/);
    const loss = spawnSync(process.execPath, [cli, 'detect', 'train', ...tiny, '--loss', 'hinge', '--out', at('x')], { encoding: 'utf8' });
    assert.equal(loss.status, 2);
    assert.match(loss.stderr, /^kiln: option '--loss <name>' argument 'hinge' is invalid\. Allowed choices are focal, hard-negatives\.[^\n]*\n$/);
  });
});
