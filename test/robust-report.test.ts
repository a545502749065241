import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { register } from '../src/cli/commands/attack.js';
import { loadDataset, sample } from '../src/data/index.js';
import { cnn, saveModel } from '../src/nn/index.js';
import { modelSha256, type AttackRecord } from '../src/robust/index.js';
import { runCommands } from './helpers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-robust-report-');
let model: tf.LayersModel;

before(async () => {
  await initBackend();
  setSeed(3);
  model = cnn({ inputShape: [28, 28, 1], outputs: 10 });
  await saveModel(model, path.join(tmp, 'model'));
});

test('kiln attack --out writes a claim record and a report whose links all exist', async () => {
  const out = path.join(tmp, 'report');
  const printed = await runCommands([register], ['attack', '--model', path.join(tmp, 'model'), '--dataset', 'mnist', '--attack', 'autoattack',
    '--version', 'custom', '--attacks', 'fgsm,pgd-linf', '--eps', '0.1', '--curve', '0.02,0.05', '--n', '12', '--batch-size', '8',
    '--seed', '4', '--out', out]);
  const record = JSON.parse(fs.readFileSync(path.join(out, 'attack.json'), 'utf8')) as AttackRecord;
  // The hash covers the weights: the same architecture with other weights hashes differently.
  const bytes = Buffer.concat(['model.json', 'weights.bin'].map((f) => fs.readFileSync(path.join(tmp, 'model', f))));
  assert.equal(record.modelSha256, crypto.createHash('sha256').update(bytes).digest('hex'));
  fs.cpSync(path.join(tmp, 'model'), path.join(tmp, 'other'), { recursive: true });
  const weights = fs.readFileSync(path.join(tmp, 'other', 'weights.bin'));
  weights[0] ^= 1;
  fs.writeFileSync(path.join(tmp, 'other', 'weights.bin'), weights);
  assert.notEqual(modelSha256(path.join(tmp, 'other')), record.modelSha256);
  assert.deepEqual(record.threatModel, { norm: 'linf', eps: 0.1, pixelRange: [0, 1] });
  assert.equal(record.n, 12);
  assert.deepEqual(record.options, { eps: 0.1, version: 'custom', attacks: 'fgsm,pgd-linf', seed: 4 });

  // Clean accuracy recomputed on the same seeded sample.
  const data = sample(loadDataset('mnist'), 12, 4, { exact: true });
  const predicted = tf.tidy(() => (model.predict(tf.tensor4d(data.x, [12, 28, 28, 1])) as tf.Tensor).argMax(1).dataSync());
  const clean = data.y.reduce((a, y, i) => a + (predicted[i] === y ? 1 : 0), 0) / 12;
  assert.equal(record.cleanAccuracy, clean);

  // The sequence in order, never rising, ending at the robust accuracy; the curve from clean accuracy at eps 0.
  assert.deepEqual(record.stages.map((s) => s.attack), ['fgsm', 'pgd-linf']);
  assert.ok(record.stages[1].robustAccuracy <= record.stages[0].robustAccuracy && record.stages[0].robustAccuracy <= clean);
  assert.equal(record.robustAccuracy, record.stages[1].robustAccuracy);
  assert.deepEqual(record.curve.map((c) => c.eps), [0, 0.02, 0.05, 0.1]);
  assert.equal(record.curve[0].robustAccuracy, clean);
  assert.equal(record.curve[3].robustAccuracy, record.robustAccuracy);
  assert.ok(record.maxPerturbation <= 0.1 + 1e-6 && record.seconds > 0 && record.imagesPerSecond > 0);
  assert.match(printed, /after pgd-linf/);

  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  const links = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(links.sort(), ['curve.svg', 'examples.png']);
  for (const file of links) assert.ok(fs.statSync(path.join(out, file)).size > 100, `${file} is missing or empty`);
  assert.match(fs.readFileSync(path.join(out, 'curve.svg'), 'utf8'), /^<svg/);
  // The label table: the images the attack fooled come first, as many as it fooled (up to 8).
  const row = (name: string) => {
    const m = html.match(new RegExp(`<td>${name}</td>((?:<td[^>]*>[^<]*(?:<strong>\\d+</strong>)?</td>)+)`));
    assert.ok(m, `no ${name} row`);
    return [...m[1].matchAll(/(\d+)/g)].map((d) => Number(d[1]));
  };
  const [truth, before, after] = [row('true label'), row('predicted \\(original\\)'), row('predicted \\(adversarial\\)')];
  assert.equal(truth.length, 8);
  const fooledColumns = truth.map((t, i) => before[i] === t && after[i] !== t);
  const fooledCount = Math.round((record.cleanAccuracy - record.robustAccuracy) * 12);
  assert.deepEqual(fooledColumns, truth.map((_, i) => i < Math.min(8, fooledCount)));
});
