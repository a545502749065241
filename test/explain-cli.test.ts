import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PNG } from 'pngjs';
import { tf, initBackend, setSeed } from '../src/backend/index.js';
import { cnn, saveModel } from '../src/nn/index.js';
import { diverging, gridPng, heatmapTile, listComposites, pixelFlipping } from '../src/explain/index.js';
import { BITMAP_FONT_CHARS, bitmapGlyph, bitmapTextHeight, bitmapTextWidth, drawBitmapText, wrapBitmapText } from '../src/report/index.js';
import { projectRoot } from '../src/core/paths.js';
import { spearman } from '../src/math/index.js';
import { register } from '../src/cli/commands/explain.js';
import { parseIndices } from '../src/explain/index.js';
import { keyValueFlags } from '../src/cli/flags.js';
import { tempDir } from './temp-dir.js';

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
  const dir = tempDir('kiln-explain-');
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
  // Tiles of 56 px with 4 px gaps, plus label bands at font scale 1: above, 'deep_taylor.bounded' wraps
  // to 3 lines (29 px + gap); left, 'mnist[0]' / 'true 0' / 'pred 0' is 8 characters wide (47 px + gap).
  const top = bitmapTextHeight(3) + 4;
  const left = bitmapTextWidth('mnist[0]') + 4;
  assert.deepEqual([top, left], [33, 51]);
  assert.equal(png.width, left + 4 + 4 * (56 + 4));
  assert.equal(png.height, top + 4 + 2 * (56 + 4));
  const ink = (x0: number, y0: number, x1: number, y1: number): number => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (png.data[(y * png.width + x) * 4] === 30) n++;
    return n;
  };
  for (let c = 0; c < 4; c++) assert.ok(ink(left + 4 + c * 60, 0, left + 4 + c * 60 + 56, top) > 20, `column ${c} has a label`);
  for (let r = 0; r < 2; r++) assert.ok(ink(0, top + 4 + r * 60, left, top + 4 + r * 60 + 56) > 40, `row ${r} has a label`);
  assert.equal(ink(left, top, png.width, png.height), 0, 'no label ink over the tiles');
  const json = JSON.parse(fs.readFileSync(path.join(out, 'relevances.json'), 'utf8'));
  assert.deepEqual(json.columns, ['input', 'gradient', 'lrp.epsilon', 'deep_taylor.bounded']);
  assert.equal(json.examples.length, 2);
  assert.equal(json.examples[0].relevances['lrp.epsilon'].length, 784);
  for (const e of json.examples) assert.equal(e.explained, e.predicted, 'max_activation explains the predicted class');
  assert.match(log, /row 0: mnist\[0\] label \d predicted \d/);

  // --composite alone runs the lrp analyzer with that composite.
  const log2 = await runCli(['--model', path.join(dir, 'model'), '--dataset', 'mnist', '--index', '3', '--composite', 'epsilon-plus-flat',
    '--neuron', 'index', '--target', '2', '--strip-softmax', '--backend', 'cpu', '--out', out]);
  assert.match(log2, /columns: input, lrp$/m);
  const json2 = JSON.parse(fs.readFileSync(path.join(out, 'relevances.json'), 'utf8'));
  assert.equal(json2.composite, 'epsilon-plus-flat');
  assert.equal(json2.examples[0].explained, 2);
  assert.ok(json2.examples[0].relevances.lrp.some((v: number) => v !== 0));
  await assert.rejects(runCli(['--model', path.join(dir, 'model'), '--dataset', 'mnist', '--composite', 'epsilon-plus',
    '--analyzer', 'gradient', '--strip-softmax', '--out', out]), /a composite chooses the rules of the lrp analyzer: add lrp/);
  await assert.rejects(runCli(['--model', path.join(dir, 'model'), '--dataset', 'mnist', '--analyzer', 'gradient',
    '--param', 'alpha=2', '--strip-softmax', '--out', out]), /option alpha: none of the chosen analyzers has it/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('kiln explain --help lists the composites; an unknown one is a one-line error with exit code 2', () => {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const help = spawnSync(process.execPath, [cli, 'explain', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  const flat = help.stdout.replace(/\s+/g, ' ');
  for (const c of listComposites()) assert.ok(flat.includes(c.name), `--help names composite ${c.name}`);
  const bad = spawnSync(process.execPath, [cli, 'explain', '--model', 'none.json', '--dataset', 'mnist', '--composite', 'nope'],
    { encoding: 'utf8', env: { ...process.env, KILN_THREADS: '1' } });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^kiln: unknown composite 'nope' \(known: epsilon-plus, .*\)\n$/);
});

test('the bitmap font: glyph bitmaps, drawing, measuring and wrapping', () => {
  assert.deepEqual(bitmapGlyph('A').map((row) => row.map((on) => (on ? '#' : '.')).join('')),
    ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#', '.....', '.....']);
  // g descends below the baseline (rows 7 and 8).
  assert.deepEqual(bitmapGlyph('g').slice(7).map((row) => row.map((on) => (on ? '#' : '.')).join('')), ['....#', '.###.']);
  const seen = new Set<string>();
  for (const ch of BITMAP_FONT_CHARS) {
    const g = bitmapGlyph(ch);
    assert.equal(g.length, 9, `glyph '${ch}' has 9 rows`);
    assert.ok(g.every((row) => row.length === 5), `glyph '${ch}' is 5 wide`);
    const key = JSON.stringify(g);
    assert.ok(!seen.has(key), `glyph '${ch}' looks like another`);
    seen.add(key);
  }
  for (const ch of 'AZaz09._-:()[]') assert.ok(BITMAP_FONT_CHARS.includes(ch), `the font has '${ch}'`);
  // Drawing 'A' at scale 2 at (3, 1) inks exactly the glyph's cells, each as a 2x2 block.
  const image = { width: 16, height: 20, data: new Uint8Array(16 * 20 * 4) };
  drawBitmapText(image, 'A', 3, 1, { color: [200, 10, 10], scale: 2 });
  const glyph = bitmapGlyph('A');
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 16; x++) {
      const gx = Math.floor((x - 3) / 2);
      const gy = Math.floor((y - 1) / 2);
      const on = x >= 3 && y >= 1 && gx < 5 && gy < 9 && glyph[gy][gx];
      assert.equal(image.data[(y * 16 + x) * 4], on ? 200 : 0, `pixel ${x},${y}`);
    }
  }
  assert.equal(bitmapTextWidth('abc', 2), 34);
  assert.deepEqual(wrapBitmapText('integrated_gradients', 112), ['integrated_', 'gradients']);
  assert.deepEqual(wrapBitmapText('lrp epsilon-plus', 60), ['lrp', 'epsilon-', 'plus']);
  assert.deepEqual(wrapBitmapText('abcdefghij', 30), ['abcde', 'fghij']);
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
  assert.throws(() => parseIndices('9..10', 10), /index must be/);
  assert.throws(() => parseIndices('0x1', 10), /index must be/);
  assert.throws(() => parseIndices('1,,2', 10), /index must be/);
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
