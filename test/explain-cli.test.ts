import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { PNG } from 'pngjs';
import { tf, initBackend, setSeed } from '../src/backend/index.js';
import { cnn, saveModel } from '../src/nn/index.js';
import { diverging, gridPng, heatmapTile, pixelFlipping } from '../src/explain/index.js';
import { spearman } from '../src/math/index.js';
import { register, parseIndices } from '../src/cli/commands/explain.js';
import { keyValueFlags } from '../src/cli/flags.js';

before(async () => {
  await initBackend();
});

async function runCli(args: string[]): Promise<string> {
  const program = new Command('kiln').exitOverride();
  register(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => { chunks.push(String(s)); return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'kiln', 'explain', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('kiln explain writes a PNG grid (input + one heatmap per analyzer per row) and the relevances as JSON', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-explain-'));
  setSeed(3);
  await saveModel(cnn({ inputShape: [28, 28, 1], outputs: 10, filters: [4], dense: 8 }), path.join(dir, 'model'));
  const out = path.join(dir, 'out');
  await assert.rejects(runCli(['--model', path.join(dir, 'model', 'model.json'), '--dataset', 'mnist', '--analyzer', 'gradient',
    '--backend', 'cpu', '--out', out]), /ends in a softmax.*--strip-softmax/);
  const log = await runCli(['--model', path.join(dir, 'model', 'model.json'), '--dataset', 'mnist', '--index', '0..1',
    '--analyzer', 'gradient,lrp.epsilon,deep_taylor.bounded', '--param', 'epsilon=0.01', '--strip-softmax', '--backend', 'cpu',
    '--scale', '2', '--out', out]);
  assert.match(log, /columns: input, gradient, lrp.epsilon, deep_taylor.bounded/);
  const png = PNG.sync.read(fs.readFileSync(path.join(out, 'explain.png')));
  assert.equal(png.width, 4 + 4 * (56 + 4));
  assert.equal(png.height, 4 + 2 * (56 + 4));
  const json = JSON.parse(fs.readFileSync(path.join(out, 'relevances.json'), 'utf8'));
  assert.deepEqual(json.columns, ['input', 'gradient', 'lrp.epsilon', 'deep_taylor.bounded']);
  assert.equal(json.examples.length, 2);
  assert.equal(json.examples[0].relevances['lrp.epsilon'].length, 784);
  await assert.rejects(runCli(['--model', path.join(dir, 'model'), '--dataset', 'mnist', '--analyzer', 'gradient',
    '--param', 'alpha=2', '--strip-softmax', '--out', out]), /none of the chosen analyzers has that option/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('kiln explain --list shows every analyzer with its options', async () => {
  const text = await runCli(['--list']);
  for (const name of ['lrp.sequential_preset_b_flat', 'pattern.attribution', 'smoothgrad']) assert.match(text, new RegExp(`^${name.replace('.', '\\.')}`, 'm'));
  assert.match(text, /--param augment_by_n=<number>.*default 64/);
  assert.match(text, /--param steps=<number>.*default 64/);
});

test('CLI argument parsing: index ranges and key=value params', () => {
  assert.deepEqual(parseIndices('2..4', 10), [2, 3, 4]);
  assert.deepEqual(parseIndices('1,7', 10), [1, 7]);
  assert.throws(() => parseIndices('9..10', 10), /--index/);
  assert.deepEqual(keyValueFlags(['epsilon=0.1', 'bias=false', 'postprocess=abs'], '--param'), { epsilon: 0.1, bias: false, postprocess: 'abs' });
});

test('heatmap colours: red for positive, blue for negative, white for none; grid tiles scale', () => {
  assert.deepEqual(diverging(1), [255, 0, 0]);
  assert.deepEqual(diverging(-1), [0, 0, 255]);
  assert.deepEqual(diverging(0), [255, 255, 255]);
  const tile = heatmapTile([2, -1, 0, 1], 2, 2, 1);
  assert.deepEqual(Array.from(tile.rgb.slice(0, 6)), [255, 0, 0, 128, 128, 255]);
  const png = PNG.sync.read(gridPng([[tile, tile]], { scale: 3, gap: 1 }));
  assert.equal(png.width, 1 + 2 * 7);
});

test('spearman rank correlation and pixel flipping behave as defined', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 0.9487) < 1e-3);
  // A linear score sum_i w_i x_i: flipping by the true contributions lowers it faster than the reverse order.
  const w = tf.tensor1d([5, 4, 3, 2, 1, 0.5, 0.2, 0.1]);
  const score = (x: tf.Tensor) => tf.stack([tf.sum(tf.mul(x, w), 1), tf.zeros([x.shape[0]])], 1);
  const x = tf.ones([1, 8]);
  const good = pixelFlipping(score, x, w.reshape([1, 8]), [0], { steps: 4, maxFraction: 0.5 });
  const bad = pixelFlipping(score, x, tf.neg(w).reshape([1, 8]), [0], { steps: 4, maxFraction: 0.5 });
  [15.8, 10.8, 6.8, 3.8, 1.8].forEach((v, k) => assert.ok(Math.abs(good.scores[k] - v) < 1e-4, `step ${k}: ${good.scores[k]}`));
  assert.ok(good.aopc > bad.aopc, `AOPC ${good.aopc} should beat ${bad.aopc}`);
});
