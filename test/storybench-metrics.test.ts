import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRng, projectRoot } from '../src/core/index.js';
import { MetricEnv, i3dFrameIndices, linspaceInt, metrics, resolveFrameExtractor, resolveVideoExtractor, tinyFrameModel, tinyVideoModel } from '../src/storybench/index.js';
import { makeFrames, type Frames } from '../src/media/index.js';
import { covariance, frechetDistance, frechetFromFeatures, symmetricEigen, symmetricEigenvalues } from '../src/math/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/runtime.js';

// onnxruntime-node is optional (its install script needs the network): without it these tests say so and skip.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

const fixture = (name: string) => path.join(projectRoot(), 'test', 'fixtures', 'storybench', name);

test('Frechet distance matches numpy/scipy on committed fixtures (incl. rank-deficient covariances)', () => {
  const { cases } = JSON.parse(fs.readFileSync(fixture('frechet.json'), 'utf8')) as {
    cases: { name: string; truth: number[][]; preds: number[][]; expected: number }[];
  };
  assert.equal(cases.length, 4);
  for (const c of cases) {
    const got = frechetFromFeatures(c.truth, c.preds).distance;
    assert.ok(Math.abs(got - c.expected) <= 1e-7 * Math.max(1, Math.abs(c.expected)), `${c.name}: ${got} vs scipy ${c.expected}`);
  }
});

test('Frechet distance: analytic cases', () => {
  const eye = (n: number, s = 1) => ({ n, data: Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? s : 0)) });
  const diag = (v: number[]) => ({ n: v.length, data: Float64Array.from({ length: v.length ** 2 }, (_, i) => (i % (v.length + 1) === 0 ? v[i / (v.length + 1)] : 0)) });
  // Identical Gaussians: 0.
  const rng = createRng(3);
  const rows = Array.from({ length: 30 }, () => Array.from({ length: 5 }, () => rng.normal()));
  assert.ok(Math.abs(frechetFromFeatures(rows, rows).distance) < 1e-9);
  // Diagonal covariances: |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
  const a = [1, 4, 9, 0.25];
  const b = [4, 1, 1, 2.25];
  const closed = 3 ** 2 + 4 ** 2 + a.reduce((s, x, i) => s + (Math.sqrt(x) - Math.sqrt(b[i])) ** 2, 0);
  const r = frechetDistance([3, 0, 0, 0], diag(a), [0, 4, 0, 0], diag(b));
  assert.ok(Math.abs(r.distance - closed) < 1e-10, `${r.distance} vs ${closed}`);
  assert.equal(r.regularized, false);
  // Scaled identities: d * (s1 + s2 - 2 sqrt(s1 s2)).
  assert.ok(Math.abs(frechetDistance([0, 0, 0], eye(3, 4), [0, 0, 0], eye(3, 9)).distance - 3 * (4 + 9 - 12)) < 1e-10);
});

test('Frechet distance retries with epsilon when the product is not positive semi-definite', () => {
  // An indefinite "covariance" makes the square root complex: the reference adds eps to the diagonal and retries.
  const s1 = { n: 2, data: Float64Array.from([1, 0, 0, -1e-7]) };
  const s2 = { n: 2, data: Float64Array.from([1, 0, 0, 1]) };
  const r = frechetDistance([0, 0], s1, [0, 0], s2, 1e-6);
  assert.equal(r.regularized, true);
  assert.ok(Number.isFinite(r.distance));
  const bad = { n: 2, data: Float64Array.from([1, 0, 0, -5]) };
  assert.throws(() => frechetDistance([0, 0], bad, [0, 0], s2), /imaginary/);
});

test('symmetric eigendecomposition reconstructs the matrix', () => {
  const rng = createRng(11);
  const rows = Array.from({ length: 12 }, () => Array.from({ length: 7 }, () => rng.normal()));
  const c = covariance(rows);
  const { values, vectors } = symmetricEigen(c);
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 7; j++) {
      let v = 0;
      for (let k = 0; k < 7; k++) v += vectors.data[k * 7 + i] * values[k] * vectors.data[k * 7 + j];
      assert.ok(Math.abs(v - c.data[i * 7 + j]) < 1e-10);
    }
  }
  for (let k = 1; k < 7; k++) assert.ok(values[k] >= values[k - 1]);
  const only = symmetricEigenvalues(c);
  only.forEach((v, k) => assert.ok(Math.abs(v - values[k]) < 1e-10));
});

test('I3D frame handling: short clips repeated, long ones linspace-subsampled to a multiple of 9', () => {
  assert.deepEqual(i3dFrameIndices(1), new Array(9).fill(0));
  assert.deepEqual(i3dFrameIndices(2), [0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.equal(i3dFrameIndices(4).length, 9); // 4 x 3 = 12 -> 9
  assert.deepEqual(i3dFrameIndices(9), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // np.linspace(0, 19, 18, dtype=int)
  assert.deepEqual(i3dFrameIndices(20), [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19]);
  assert.deepEqual(linspaceInt(0, 10, 4), [0, 3, 6, 10]);
  for (let t = 1; t < 40; t++) assert.equal(i3dFrameIndices(t).length % 9, 0);
});

test('the committed ONNX feature models are exactly what onnx-builder writes, and run in onnxruntime', { skip: noOrt }, async () => {
  assert.deepEqual(new Uint8Array(fs.readFileSync(fixture('tiny-frame-features.onnx'))), tinyFrameModel());
  assert.deepEqual(new Uint8Array(fs.readFileSync(fixture('tiny-video-features.onnx'))), tinyVideoModel());
  const clip: Frames = makeFrames(3, 10, 16);
  clip.data.forEach((_, i) => (clip.data[i] = [200, 100, 50][i % 3]));
  const frame = await resolveFrameExtractor(fixture('tiny-frame-features.onnx'));
  const feats = await frame.embedFrames(clip);
  assert.equal(feats.length, 3);
  assert.equal(feats[0].length, 19);
  // The first three features are the mean colour in [0, 1]: checks the NHWC layout and scaling.
  [200, 100, 50].forEach((v, c) => assert.ok(Math.abs(feats[1][c] - v / 255) < 1e-6));
  const video = await resolveVideoExtractor(fixture('tiny-video-features.onnx'));
  const v = await video.embedVideo(clip);
  assert.equal(v.length, 19);
  assert.ok(Math.abs(v[0] - 200 / 255) < 1e-6);
  await assert.rejects(resolveFrameExtractor('/nonexistent/model.onnx'), /ONNX model not found/);
});

function randomClip(rng: ReturnType<typeof createRng>, t: number, shift = 0): Frames {
  const f = makeFrames(t, 8, 12);
  f.data.forEach((_, i) => (f.data[i] = Math.max(0, Math.min(255, 100 + shift + 60 * rng.normal()))));
  return f;
}

test('every registered metric: the oracle is best; sim = 100 and fid ~ 0 on the ground truth itself', { skip: noOrt }, async () => {
  const rng = createRng(5);
  const items = Array.from({ length: 6 }, (_, i) => {
    const gt = randomClip(rng, 6);
    return { name: `i${i}`, gt, noisy: randomClip(rng, 6, 40), texts: ['a red square', 'a blue square'], frames: [3, 3] };
  });
  for (const extractor of ['grid-color', fixture('tiny-frame-features.onnx')]) {
    const env = new MetricEnv({ frameFeatures: extractor, videoFeatures: fixture('tiny-video-features.onnx') });
    for (const name of metrics.names()) {
      const m = metrics.get(name);
      const oracle = await m.start(env);
      const noisy = await m.start(env);
      for (const it of items) {
        await oracle.add({ name: it.name, samples: [it.gt, it.gt], groundTruth: it.gt, frames: it.frames, texts: it.texts });
        await noisy.add({ name: it.name, samples: [it.noisy, it.gt], groundTruth: it.gt, frames: it.frames, texts: it.texts });
      }
      const o = oracle.finish();
      const n = noisy.finish();
      assert.equal(o.perSample.length, 2, name);
      if (name === 'sim') assert.ok(Math.abs(o.mean - 100) < 1e-9);
      if (name === 'fid' || name === 'fvd') assert.ok(Math.abs(o.mean) < 1e-6, `${name} oracle ${o.mean}`);
      if (m.needsGroundTruth) {
        const better = m.better === 'lower' ? n.perSample[0] > o.perSample[0] : n.perSample[0] < o.perSample[0];
        assert.ok(better, `${name} (${extractor}): noisy ${n.perSample[0]} vs oracle ${o.perSample[0]}`);
        assert.ok(n.std > 0, `${name}: samples differ, so std > 0`);
      }
    }
  }
});

test('vtm with the built-in colour encoder prefers the video matching its prompt', async () => {
  const env = new MetricEnv({ dualEncoder: 'color-words' });
  const solid = (rgb: number[]) => {
    const f = makeFrames(4, 6, 6);
    f.data.forEach((_, i) => (f.data[i] = rgb[i % 3]));
    return f;
  };
  const vtm = await metrics.get('vtm').start(env);
  await vtm.add({ name: 'x', samples: [solid([220, 40, 40]), solid([40, 70, 220])], groundTruth: null, frames: [4], texts: ['A red ball.'] });
  const s = vtm.finish();
  assert.ok(Math.abs(s.perSample[0] - 100) < 1e-9, `red video, red prompt: ${s.perSample[0]}`);
  assert.ok(Math.abs(s.perSample[1]) < 1e-9, `blue video, red prompt: ${s.perSample[1]}`);
  assert.equal(s.std, 50); // population std over samples, as np.std
});
