import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { createRng, KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { mobileDetSpace, TINY_LAYOUT } from '../src/detect/space/index.js';
import {
  anchorTargets, buildDetector, decodeBoxes, detect, detectionsPng, encodeBox, generateAnchors, cornerIou, loadDetector, matchAnchors, normalizedCorners,
  perClassNms, saveDetector, ssdLoss, SSD_CLASS_LOSSES, hardNegativeMask, toCorners, trainDetector, type Detector,
} from '../src/detect/ssd/index.js';
import { squareImages } from './helpers.js';
import { colorOf } from '../src/report/index.js';
import { cnn, saveModel } from '../src/nn/index.js';
import { tempDir } from './temp-dir.js';

before(async () => {
  await initBackend();
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol);


function tinyDetector(seed: number): Detector {
  setSeed(seed);
  const space = mobileDetSpace('full', TINY_LAYOUT);
  return buildDetector({ space, arch: space.parse('f1-ibn_k3_e4-f1-fused_k3_e4-skip-f1-tucker_k3_i0.75_o0.75'), inputShape: [32, 32, 3], categories: [{ id: 7, name: 'square' }] });
}

test('anchors follow SSD\'s scales and aspect ratios, map by map, row by row', () => {
  const a = generateAnchors([[2, 2], [1, 1]], { minScale: 0.2, maxScale: 0.9, aspectRatios: [1, 2] });
  assert.equal(a.length / 4, 4 * 3 + 3);
  assert.ok(close(a.subarray(0, 12), [0.25, 0.25, 0.2, 0.2, 0.25, 0.25, 0.2 * Math.SQRT2, 0.2 / Math.SQRT2, 0.25, 0.25, Math.sqrt(0.18), Math.sqrt(0.18)], 1e-6));
  assert.ok(close(a.subarray(12, 16), [0.75, 0.25, 0.2, 0.2], 1e-6)); // next column of the first map
  assert.ok(close(a.subarray(48, 60), [0.5, 0.5, 0.9, 0.9, 0.5, 0.5, 0.9 * Math.SQRT2, 0.9 / Math.SQRT2, 0.5, 0.5, Math.sqrt(0.9), Math.sqrt(0.9)], 1e-6));
  assert.throws(() => generateAnchors([[1, 1]], { minScale: 0.5, maxScale: 0.2, aspectRatios: [1] }), KilnError);
});

test('box encoding and decoding are inverse, with the 10/10/5/5 scale factors', () => {
  const rng = createRng(4);
  const anchors = new Float32Array(40);
  const boxes = new Float32Array(40);
  for (let i = 0; i < 10; i++) {
    anchors.set([rng.next(), rng.next(), 0.05 + rng.next() * 0.5, 0.05 + rng.next() * 0.5], i * 4);
    const [x, y] = [rng.next() * 0.7, rng.next() * 0.7];
    boxes.set([x, y, x + 0.02 + rng.next() * 0.3, y + 0.02 + rng.next() * 0.3], i * 4);
  }
  const code = new Float32Array(40);
  for (let i = 0; i < 10; i++) encodeBox(boxes, i, anchors, i, code, i);
  assert.ok(close(decodeBoxes(code, 4, anchors), boxes, 1e-5));
  // A box twice its anchor's width, shifted by half a width: [10 * 0.5, 0, 5 log 2, 0].
  const one = new Float32Array(4);
  encodeBox([0.45, 0.4, 0.85, 0.6], 0, Float32Array.of(0.4, 0.5, 0.2, 0.2), 0, one, 0);
  assert.ok(close(one, [10 * 1.25, 0, 5 * Math.log(2), 0], 1e-5));
});

test('matching: IoU >= 0.5 is positive, and a box no anchor reaches still claims its best anchor', () => {
  const anchors = Float32Array.of(0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2);
  const gt = Float32Array.of(0, 0, 0.5, 0.4, 0.45, 0.45, 0.65, 0.65);
  const corners = toCorners(anchors);
  assert.ok(Math.abs(cornerIou(corners, 0, gt, 0) - 0.8) < 1e-6);
  assert.ok(Math.abs(cornerIou(corners, 2, gt, 1) - 0.0225 / 0.0575) < 1e-6); // 0.39: below the threshold
  assert.deepEqual(Array.from(matchAnchors(corners, gt, 0.5)), [0, -1, 1]);
  assert.deepEqual(Array.from(matchAnchors(corners, new Float32Array(0), 0.5)), [-1, -1, -1]);
  const t = anchorTargets(anchors, gt, [3, 5], 0.5);
  assert.deepEqual(Array.from(t.classes), [3, -1, 5]);
  assert.deepEqual(Array.from(t.boxes.subarray(4, 8)), [0, 0, 0, 0]);
});

test('per-class NMS suppresses overlaps within a class only, drops low scores, keeps the best max detections', () => {
  const boxes = Float32Array.of(0, 0, 1, 1, 0, 0, 1, 0.9, 2, 2, 3, 3, 5, 5, 6, 6, 0, 0, 1, 1);
  // scores[i * 2 + c]: box 1 overlaps box 0 (IoU 0.9) in class 0 but is alone in class 1; box 3 is too weak; box 4 ties box 0.
  const scores = [0.9, 0, 0.8, 0.6, 0.7, 0, 0.01, 0, 0.9, 0];
  const o = { scoreThreshold: 0.05, iouThreshold: 0.5, maxDetections: 10 };
  assert.deepEqual(perClassNms(boxes, scores, 2, o).map((k) => [k.index, k.classIndex, k.score]), [[0, 0, 0.9], [2, 0, 0.7], [1, 1, 0.6]]);
  assert.deepEqual(perClassNms(boxes, scores, 2, { ...o, maxDetections: 2 }).map((k) => k.index), [0, 2]);
  assert.equal(perClassNms(boxes, scores, 2, { ...o, iouThreshold: 0.95 }).length, 4); // only the identical boxes 0 and 4 clash
});

test('a tiny SSDLite learns to find one square (top box IoU > 0.5) and its loss falls', async () => {
  const d = tinyDetector(1);
  const r = await trainDetector(d, squareImages(64, 1), { steps: 150, batchSize: 8, lr: 0.02, seed: 1 });
  assert.equal(r.losses.length, 150);
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(mean(r.losses.slice(-15)) < mean(r.losses.slice(0, 15)) / 3, `loss ${mean(r.losses.slice(0, 15))} -> ${mean(r.losses.slice(-15))}`);
  const held = squareImages(20, 2);
  const dets = await detect(d, held, { maxDetections: 1 });
  const hits = held.filter((im) => {
    const top = dets.find((q) => q.imageId === im.id);
    return top && top.categoryId === 7 && cornerIou(normalizedCorners([top.box], 32, 32), 0, normalizedCorners(im.boxes, 32, 32), 0) > 0.5;
  }).length;
  assert.ok(hits >= 18, `${hits} of 20 held-out squares found`);

  // Saved in tfjs format and loaded back, it gives the same detections.
  const dir = tempDir('kiln-ssd-');
  await saveDetector(d, dir);
  const back = await loadDetector(dir);
  assert.deepEqual(back.config, d.config);
  const again = await detect(back, held, { maxDetections: 1 });
  assert.equal(again.length, dets.length);
  again.forEach((q, i) => assert.ok(close(q.box, dets[i].box, 1e-3) && Math.abs(q.score - dets[i].score) < 1e-4));
  back.model.dispose();
  d.model.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('the loss: perfect regression and confident classes cost little, wrong ones much', () => {
  const targets = { boxes: tf.tensor3d([[[1, -1, 0.5, 0], [0, 0, 0, 0]]]), classes: tf.tensor3d([[[1, 0], [0, 0]]]), positive: tf.tensor2d([[1, 0]]) };
  const good = ssdLoss(tf.tensor3d([[[1, -1, 0.5, 0, 8, -8], [3, 3, 3, 3, -8, -8]]]), targets);
  const bad = ssdLoss(tf.tensor3d([[[3, 1, 0.5, 0, -8, 8], [0, 0, 0, 0, 8, -8]]]), targets);
  assert.ok(good.box.dataSync()[0] < 1e-6); // background anchors' boxes are not regressed
  assert.ok(Math.abs(bad.box.dataSync()[0] - (1.5 + 1.5)) < 1e-5); // Huber: |d| - 0.5 for |d| = 2
  assert.ok(good.cls.dataSync()[0] < 1e-3 && bad.cls.dataSync()[0] > 5);
  tf.dispose([targets, good, bad]);
});

test('every registered classification loss: right classes cost less than wrong ones, and the loss has a gradient', () => {
  const targets = { boxes: tf.tensor3d([[[1, -1, 0.5, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]), classes: tf.tensor3d([[[1, 0], [0, 0], [0, 0]]]), positive: tf.tensor2d([[1, 0, 0]]) };
  const right = tf.tensor3d([[[1, -1, 0.5, 0, 4, -4], [0, 0, 0, 0, -4, -4], [0, 0, 0, 0, -4, -4]]]);
  const wrong = tf.tensor3d([[[1, -1, 0.5, 0, -4, 4], [0, 0, 0, 0, 4, -4], [0, 0, 0, 0, -4, 4]]]);
  for (const classLoss of Object.keys(SSD_CLASS_LOSSES)) {
    const good = ssdLoss(right, targets, { classLoss }).cls.dataSync()[0];
    const bad = ssdLoss(wrong, targets, { classLoss }).cls.dataSync()[0];
    assert.ok(Number.isFinite(good) && good < bad, `${classLoss}: ${good} vs ${bad}`);
    const g = tf.grad((raw) => ssdLoss(raw as tf.Tensor3D, targets, { classLoss }).total)(wrong);
    assert.ok(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]) > 0, classLoss);
    g.dispose();
  }
  assert.throws(() => ssdLoss(right, targets, { classLoss: 'hinge' }), /unknown detection loss 'hinge' \(known: focal, hard-negatives\)/);
  tf.dispose([targets, right, wrong]);
});

test('hard negative mining keeps every positive and the highest-loss negatives, ratio per positive, at least the minimum', () => {
  // Two images of five anchors: one positive (anchor 1) in the first, none in the second; a tie at 0.7 in the second.
  const loss = new Float32Array([0.1, 9, 0.5, 0.3, 0.4, 0.2, 0.7, 0.1, 0.7, 0.3]);
  const positive = new Float32Array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...hardNegativeMask(loss, positive, 5, { ratio: 3, minNegatives: 1 })], [0, 1, 1, 1, 1, 0, 1, 0, 0, 0]);
  assert.deepEqual([...hardNegativeMask(loss, positive, 5, { ratio: 1, minNegatives: 2 })], [0, 1, 1, 0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual([...hardNegativeMask(loss, positive, 5, { ratio: 10, minNegatives: 0 })], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  // The mined loss by hand: anchor 0 positive (logit 2), anchors 1 and 2 negatives (logits -1, 0); one negative per positive keeps anchor 2.
  const targets = { boxes: tf.zeros([1, 3, 4]) as tf.Tensor3D, classes: tf.tensor3d([[[1], [0], [0]]]), positive: tf.tensor2d([[1, 0, 0]]) };
  const raw = tf.tensor3d([[[0, 0, 0, 0, 2], [0, 0, 0, 0, -1], [0, 0, 0, 0, 0]]]);
  const cls = (ratio: number) => ssdLoss(raw, targets, { classLoss: 'hard-negatives', hardNegatives: { ratio, minNegatives: 0 } }).cls.dataSync()[0];
  const ce = (x: number, y: number) => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  assert.ok(Math.abs(cls(1) - (ce(2, 1) + ce(0, 0))) < 1e-6, `${cls(1)}`);
  assert.ok(Math.abs(cls(3) - (ce(2, 1) + ce(-1, 0) + ce(0, 0))) < 1e-6, `${cls(3)}`);
  tf.dispose([targets, raw]);
});

test('a training run stopped at a checkpoint and resumed ends with the weights of an uninterrupted run', async () => {
  const images = squareImages(16, 3);
  const settings = { steps: 12, batchSize: 4, lr: 0.01, seed: 5 };
  const straight = tinyDetector(2);
  await trainDetector(straight, images, settings);
  const dir = tempDir('kiln-ssd-ckpt-');
  const stop = new AbortController();
  const first = tinyDetector(2);
  const cut = await trainDetector(first, images, { ...settings, checkpointDir: dir, checkpointEvery: 6, signal: stop.signal, onStep: (e) => e.step === 6 && stop.abort() });
  assert.deepEqual([cut.steps, cut.aborted], [6, true]);
  let resumedAt = -1;
  const second = tinyDetector(9); // other initial weights: the checkpoint must replace them
  const done = await trainDetector(second, images, { ...settings, checkpointDir: dir, onResume: (s) => (resumedAt = s) });
  assert.deepEqual([resumedAt, done.steps, done.losses.length], [6, 12, 6]);
  const a = straight.model.getWeights();
  const b = second.model.getWeights();
  a.forEach((w, i) => assert.ok(close(w.dataSync(), b[i].dataSync(), 1e-4), `weight ${i} differs`));
  await assert.rejects(trainDetector(second, images, { ...settings, batchSize: 8, checkpointDir: dir }), /this run differs/);
  for (const m of [straight, first, second]) m.model.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('bad training input is a KilnError before any step', async () => {
  const d = tinyDetector(3);
  const [im] = squareImages(1, 4);
  await assert.rejects(trainDetector(d, [{ ...im, categoryIds: [8] }], { steps: 1, batchSize: 1, lr: 0.01, seed: 1 }), /category id 8 is not one of the detector's/);
  await assert.rejects(trainDetector(d, [{ ...im, boxes: [[1, 1, 0, 4]] }], { steps: 1, batchSize: 1, lr: 0.01, seed: 1 }), /positive size/);
  await assert.rejects(trainDetector(d, [{ ...im, pixels: new Float32Array(10) }], { steps: 1, batchSize: 1, lr: 0.01, seed: 1 }), /has 10 values/);
  await assert.rejects(trainDetector(d, [], { steps: 1, batchSize: 1, lr: 0.01, seed: 1 }), /no training images/);
  await assert.rejects(detect(d, [im], { iouThreshold: 2 }), /IoU threshold/);
  // A tfjs model that is not a detector, and a missing folder, are one-line errors too.
  const dir = tempDir('kiln-ssd-bad-');
  const plain = cnn({ inputShape: [8, 8, 3], outputs: 2, filters: [2] });
  await saveModel(plain, dir);
  await assert.rejects(loadDetector(dir), (e: unknown) => e instanceof KilnError && /is not a Kiln detector/.test(e.message));
  await assert.rejects(loadDetector(path.join(dir, 'missing')), KilnError);
  plain.dispose();
  fs.rmSync(dir, { recursive: true });
  d.model.dispose();
});

test('the detections PNG shows the image scaled up, each box in its category\'s colour with its label, and the truth in white', () => {
  // Mid-grey, with one red pixel at (30, 30).
  const pixels = new Float32Array(32 * 32 * 3).fill(0.5);
  pixels.set([1, 0, 0], (30 * 32 + 30) * 3);
  const im = { id: 1, width: 32, height: 32, pixels };
  const categories = [{ id: 7, name: 'square' }, { id: 9, name: 'other' }];
  const png = PNG.sync.read(detectionsPng(im, [
    { imageId: 1, categoryId: 9, box: [4, 12, 10, 8], score: 0.5 },
    { imageId: 1, categoryId: 7, box: [2, 2, 20, 20], score: 0.9 },
  ], categories, { zoom: 4, truth: [[1, 1, 30, 30]] }));
  assert.deepEqual([png.width, png.height], [128, 128]);
  const at = (x: number, y: number) => Array.from(png.data.subarray((y * 128 + x) * 4, (y * 128 + x) * 4 + 3));
  const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  assert.deepEqual(at(8, 50), hex(colorOf(0))); // left edge of the 'square' box (x = 2 * 4)
  assert.deepEqual(at(16, 70), hex(colorOf(1))); // left edge of the 'other' box
  assert.deepEqual(at(4, 60), [255, 255, 255]); // the ground-truth outline
  assert.deepEqual(at(30 * 4 + 1, 30 * 4 + 2), [255, 0, 0]);
  assert.deepEqual(at(100, 110), [128, 128, 128]);
  // The 'square' box touches the top, so its label strip is inside it (from y = 8 + 2): its colour, with white text in it.
  const strip = Array.from({ length: 50 }, (_, x) => at(10 + x, 15));
  assert.ok(strip.some((c) => c.join() === hex(colorOf(0)).join()) && strip.some((c) => c.join() === '255,255,255'));
});
