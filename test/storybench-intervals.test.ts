import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/index.js';
import { columnMean, frechetFromFeatures, mean } from '../src/math/index.js';
import { makeFrames } from '../src/media/index.js';
import { MetricEnv, itemInterval, metrics, moments, resampledFrechet } from '../src/storybench/index.js';

const rows = (rng: ReturnType<typeof createRng>, n: number, d: number, shift: number) =>
  Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => shift * (j + 1) + rng.normal()));

test('a resample\'s Frechet distance from summed item features equals the distance over its drawn rows', () => {
  const rng = createRng(3);
  const truth = Array.from({ length: 12 }, () => rows(rng, 3, 4, 0));
  const pred = Array.from({ length: 12 }, () => rows(rng, 3, 4, 0.5));
  const shift = columnMean(truth.flat());
  const [tm, pm] = [truth, pred].map((items) => items.map((r) => moments(r, shift)));
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  const all = new Float64Array(12).fill(1);
  assert.ok(close(resampledFrechet(tm, pm, shift, all), frechetFromFeatures(truth.flat(), pred.flat()).distance));
  // Item 0 drawn twice, item 1 not at all: the same as listing item 0's rows twice.
  const draw = Float64Array.from({ length: 12 }, (_, i) => (i === 0 ? 2 : i === 1 ? 0 : 1));
  const pick = (items: number[][][]) => items.flatMap((r, i) => Array.from({ length: draw[i] }, () => r).flat());
  assert.ok(close(resampledFrechet(tm, pm, shift, draw), frechetFromFeatures(pick(truth), pick(pred)).distance));
});

test('item bootstrap of a mean: brackets it, about 2 x 1.96 standard errors wide, the same on every call', () => {
  const rng = createRng(4);
  const values = Array.from({ length: 200 }, () => rng.normal());
  const statistic = (draw: Float64Array) => values.reduce((a, v, i) => a + draw[i] * v, 0) / 200;
  const { low, high } = itemInterval(values.length, statistic);
  const m = mean(values);
  assert.ok(low < m && m < high, `[${low}, ${high}] around ${m}`);
  const width = high - low;
  assert.ok(width > 0.75 * (2 * 1.96) / Math.sqrt(200) && width < 1.25 * (2 * 1.96) / Math.sqrt(200), `width ${width}`);
  assert.deepEqual(itemInterval(values.length, statistic), { low, high }, 'seeded');
  assert.ok(Number.isNaN(itemInterval(1, statistic).low), 'one item has no interval');
});

test('every metric reports an interval over items; the per-item metrics bracket their value', async () => {
  const rng = createRng(5);
  const clip = (shift: number) => {
    const f = makeFrames(4, 6, 6);
    f.data.forEach((_, i) => (f.data[i] = Math.max(0, Math.min(255, 110 + shift + 50 * rng.normal()))));
    return f;
  };
  const env = new MetricEnv({ frameFeatures: 'grid-color', videoFeatures: 'grid-motion', dualEncoder: 'color-words', bootstraps: 200 });
  for (const name of metrics.names()) {
    const acc = await metrics.get(name).start(env);
    for (let i = 0; i < 10; i++) {
      const gt = clip(0);
      await acc.add({ name: `i${i}`, samples: [clip(30), clip(-30)], groundTruth: gt, frames: [2, 2], texts: ['a red square', 'a blue circle'] });
    }
    const s = acc.finish();
    assert.ok(Number.isFinite(s.low) && Number.isFinite(s.high) && s.low! < s.high!, `${name}: [${s.low}, ${s.high}]`);
    if (name === 'sim' || name === 'vtm') assert.ok(s.low! <= s.mean && s.mean <= s.high!, `${name}: ${s.mean} in [${s.low}, ${s.high}]`);
  }
  const none = await metrics.get('sim').start(new MetricEnv({ frameFeatures: 'grid-color', bootstraps: 0 }));
  await none.add({ name: 'x', samples: [clip(10)], groundTruth: clip(0), frames: [4], texts: ['a red square'] });
  assert.equal(none.finish().low, undefined, 'bootstraps=0: no interval');
});
