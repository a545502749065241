import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/index.js';
import { initBackend, setSeed } from '../src/backend/index.js';
import { loadDataset, sample, splitDataset, type Dataset, type Splits } from '../src/data/index.js';
import type { Architecture, CostModel } from '../src/nas/index.js';
import {
  childrenNearTarget, convPlan, convPlanFeatures, freshTunasChild, runStandaloneJobs, SMALL_BACKBONE, mlpLatencyFeatures, mlpSupernet, mlpWidths, mlpWidthSpace,
  trainForSteps, tunasSearch, tunasSpace, type Backbone,
} from '../src/nas/oneshot/index.js';
import { fitLatencyModel, latencyDevice, loadLookupTable, saveLookupTable } from '../src/nas/latency/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp-dir.js';

const TINY: Backbone = { channels: [4, 8], strides: [1, 2], depth: 2, stem: 4, maxExpansion: 6, kernels: [3, 5, 7] };

before(async () => {
  await initBackend();
});

/** 8x8 images whose class is the bright quadrant: learnable by a tiny conv net in a few steps. */
function quadrants(n: number, seed: number): Dataset {
  const rng = createRng(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 4;
    for (let p = 0; p < 64; p++) {
      const q = (p % 8 < 4 ? 0 : 1) + (p < 32 ? 0 : 2);
      x[i * 64 + p] = (q === y[i] ? 1 : 0) + rng.normal() * 0.3;
    }
  }
  return { name: 'quadrants', x, shape: [8, 8, 1], y, classNames: ['a', 'b', 'c', 'd'], featureNames: [] };
}
const splits: Splits = { train: quadrants(128, 1), val: quadrants(64, 2), test: quadrants(64, 3) };

/** A latency stand-in: MACs of the child plan (deterministic, so the test does not time anything). */
function macsCost(): CostModel {
  const space = tunasSpace(TINY);
  return { name: 'latency_ms_fake', metric: 'latency_ms', cost: (a) => convPlanFeatures(convPlan(space, a, TINY, 8), TINY, 1).reduce((s, v) => s + v, 0) * 1000 };
}

test('per-op latency features: a skipped block contributes nothing, wider children cost more', () => {
  const space = tunasSpace(TINY);
  const on = space.parse('f1-k7-e6-on-k7-e6-f1-k7-e6-on-k7-e6');
  const skipped = space.parse('f1-k7-e6-on-k7-e6-f1-k7-e6-skip-k7-e6');
  const f = convPlanFeatures(convPlan(space, on, TINY, 8), TINY, 1);
  const g = convPlanFeatures(convPlan(space, skipped, TINY, 8), TINY, 1);
  assert.equal(f.length, 4 * 5 + 2);
  assert.deepEqual(g.slice(15, 20), [0, 0, 0, 0, 0]); // slot 3 = stage 2, block 2
  assert.ok(f[15] === 1 && f[17] > 0);
  const small = convPlanFeatures(convPlan(space, space.parse('f0.5-k3-e1-on-k3-e1-f0.5-k3-e1-on-k3-e1'), TINY, 8), TINY, 1);
  assert.ok(small.reduce((s, v) => s + v, 0) < f.reduce((s, v) => s + v, 0));
  assert.deepEqual(mlpLatencyFeatures(4, [8], 2), [0.032, 0.008, 0.016, 0.002]);
});

test('TuNAS search: RL off during warm-up, a strong abs penalty drives the pick to the latency target', async () => {
  const latency = macsCost();
  const space = tunasSpace(TINY);
  const all = Array.from({ length: 400 }, (_, i) => latency.cost(space.sample(createRng(i))));
  const target = Math.min(...all) * 1.5;
  setSeed(3);
  const r = await tunasSearch({ splits, backbone: TINY, latency, target, beta: -5, steps: 48, batchSize: 16, lr: 1e-2, controllerLr: 0.3,
    warmup: 0.25, quality: 'accuracy', seed: 2 });
  assert.equal(r.search.qualities.filter(Number.isNaN).length, 12);
  assert.ok(r.search.qualities.slice(12).every((q) => q >= 0 && q <= 1));
  assert.equal(r.pickLatency, latency.cost(r.pick));
  const median = [...all].sort((a, b) => a - b)[200];
  assert.ok(r.pickLatency < median, `pick ${r.space.toString(r.pick)} costs ${r.pickLatency}, median child ${median}, target ${target}`);
  // The policy moved away from uniform once RL started.
  assert.ok(r.probs.some((row) => Math.max(...row) > 1 / row.length + 0.05));
  r.supernet.dispose();
});

test('random baseline children lie within the tolerance of the target; step-budget training trains and scores a child', async () => {
  const latency = macsCost();
  const space = tunasSpace(TINY);
  const target = latency.cost(space.parse('f0.75-k5-e3-on-k5-e3-f0.75-k5-e3-on-k5-e3'));
  const near = childrenNearTarget(space, latency, target, 0.1, 5, createRng(1));
  assert.equal(near.length, 5);
  assert.equal(new Set(near.map((a) => space.key(a))).size, 5);
  for (const a of near) assert.ok(Math.abs(latency.cost(a) / target - 1) <= 0.1);
  const r = await trainForSteps(() => freshTunasChild(near[0], [8, 8, 1], 4, TINY), splits, { steps: 12, batchSize: 16, lr: 1e-2, seed: 1 });
  assert.equal(r.steps, 12); // 12 x 16 > 128 examples: 2 epochs over a 96-example subset, 6 batches each
  assert.ok(r.valAccuracy >= 0 && r.testAccuracy <= 1);
  r.model.dispose();
});

test('latency cost model: lookup-table fit on a runtime, cached table reused without re-measuring', async () => {
  setSeed(1);
  const space = mlpWidthSpace(2, [4, 8, 16]);
  const net = mlpSupernet(space, 6, 3);
  const device = latencyDevice('tfjs', 1);
  const features = (a: Architecture) => mlpLatencyFeatures(6, mlpWidths(space, a), 3);
  const m = await fitLatencyModel(space, (a) => net.child(a), device, { samples: 5, seed: 1, warmup: 1, repeats: 2, features });
  assert.equal(m.cost.name, 'latency_ms_tfjs_b1');
  assert.ok(m.range.min > 0 && Number.isFinite(m.fitError.mape));
  assert.ok(Number.isFinite(m.cost.cost(space.sample(createRng(3)))));
  const file = path.join(tempDir('kiln-lat-'), 'table.json');
  saveLookupTable(file, m.table);
  const cached = loadLookupTable(file);
  const again = await fitLatencyModel(space, (a) => net.child(a), device, { samples: 5, seed: 1, warmup: 1, repeats: 2, features, table: cached });
  assert.deepEqual(again.linear, m.linear); // same children, same stored op timings: nothing was measured again
  fs.rmSync(path.dirname(file), { recursive: true });
  net.dispose();
});

test('standalone trainings in two worker threads give the same results as in-process training', async () => {
  const space = tunasSpace(SMALL_BACKBONE);
  const archs = [space.sample(createRng(1)), space.sample(createRng(2))];
  const common = { data: 'mnist', subsample: 200, splitSeed: 0, backbone: 'small', steps: 2, batchSize: 16, lr: 1e-3 };
  const jobs = archs.map((a, i) => ({ ...common, arch: space.toString(a), seed: i }));
  const viaWorkers = await runStandaloneJobs(jobs, 2);
  const local = splitDataset(sample(loadDataset('mnist'), 200, 0), { seed: 0 });
  for (const [i, a] of archs.entries()) {
    const r = await trainForSteps(() => freshTunasChild(a, [28, 28, 1], 10, SMALL_BACKBONE), local, { steps: 2, batchSize: 16, lr: 1e-3, seed: i });
    r.model.dispose();
    assert.equal(viaWorkers[i].arch, jobs[i].arch);
    assert.equal(viaWorkers[i].testAccuracy, r.testAccuracy);
    assert.equal(viaWorkers[i].valAccuracy, r.valAccuracy);
  }
  await assert.rejects(runStandaloneJobs([{ ...jobs[0], arch: 'not-an-arch' }], 1), /worker failed/);
});
