import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import {
  blockOps, buildBackbone, mobileDetCosts, mobileDetPlan, mobileDetSpace, referenceArchitecture, MOBILEDET_LAYOUT, TINY_LAYOUT, REFERENCE_ARCHITECTURES,
  type MobileDetSpace,
} from '../src/detect/space/index.js';

before(async () => {
  await initBackend();
});

const trainableParams = (m: tf.LayersModel) => m.trainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
const layerCount = (m: tf.LayersModel, cls: string) => m.layers.filter((l) => l.getClassName() === cls).length;

/** The architecture whose every block takes op `label` (no skips) at filter multiplier f1. */
function uniform(space: MobileDetSpace, label: string) {
  return space.parse(space.layout.stages.flatMap((st) => ['f1', ...Array.from({ length: st.depth }, () => label)]).join('-'));
}

test('the full space holds IBN, fused and Tucker ops with the paper\'s kernels, expansions and ratios; the IBN-only space only IBN', () => {
  const full = blockOps('full');
  assert.equal(full.length, 16);
  assert.deepEqual(new Set(full.map((o) => o.type)), new Set(['ibn', 'fused', 'tucker']));
  assert.equal(blockOps('ibn').length, 4);
  const space = mobileDetSpace('full', MOBILEDET_LAYOUT);
  const stages = MOBILEDET_LAYOUT.stages;
  assert.equal(space.decisions.length, stages.length + stages.reduce((n, s) => n + s.depth, 0));
  // Only a stage's first block cannot be skipped.
  assert.ok(!space.decisions.find((d) => d.name === 's2b1_op')!.choices.includes('skip'));
  assert.ok(space.decisions.find((d) => d.name === 's2b2_op')!.choices.includes('skip'));
  const ibn = mobileDetSpace('ibn');
  assert.throws(() => ibn.parse(space.toString(uniform(space, 'fused_k3_e4'))), KilnError);
  assert.throws(() => mobileDetSpace('full', { ...TINY_LAYOUT, featureStages: [2] }), /two or more feature maps/);
});

test('sampled architectures round-trip through text and encode one-hot', () => {
  const space = mobileDetSpace();
  const rng = createRng(3);
  for (let i = 0; i < 50; i++) {
    const a = space.sample(rng);
    assert.deepEqual(space.parse(space.toString(a)), a);
    const code = space.encode(a);
    assert.equal(code.reduce((s, v) => s + v, 0), space.decisions.length);
  }
});

test('a plan drops skipped blocks, makes stride-1 equal-width blocks residual and records feature widths', () => {
  const space = mobileDetSpace('full', TINY_LAYOUT);
  // s1: f1 ibn; s2: f0.5 fused then tucker; s3: f1.25 ibn.
  const a = space.parse('f1-ibn_k3_e4-f0.5-fused_k5_e8-tucker_k3_i0.25_o0.75-f1.25-ibn_k5_e4');
  const plan = mobileDetPlan(space, a);
  assert.deepEqual(plan.blocks.map((b) => [b.inC, b.outC, b.stride, b.residual]), [[8, 8, 2, false], [8, 8, 2, false], [8, 8, 1, true], [8, 30, 2, false]]);
  assert.deepEqual(plan.featureChannels, [8, 30]);
  const skipped = mobileDetPlan(space, space.parse('f1-ibn_k3_e4-f1-fused_k5_e8-skip-f1-ibn_k5_e4'));
  assert.equal(skipped.blocks.length, 3);
});

test('the built backbone has the plan\'s feature maps, block layers and parameter count', () => {
  setSeed(1);
  const space = mobileDetSpace('full', MOBILEDET_LAYOUT);
  const rng = createRng(5);
  const archs = [uniform(space, 'ibn_k5_e8'), uniform(space, 'fused_k3_e4'), uniform(space, 'tucker_k5_i0.75_o0.25'), space.sample(rng)];
  for (const a of archs) {
    const plan = mobileDetPlan(space, a);
    const model = buildBackbone(space, a, [64, 64, 3]);
    assert.deepEqual(model.outputs.map((o) => o.shape), [[null, 8, 8, plan.featureChannels[0]], [null, 4, 4, plan.featureChannels[1]]]);
    assert.equal(trainableParams(model), mobileDetCosts(plan, 64).params, space.toString(a));
    assert.equal(layerCount(model, 'DepthwiseConv2D'), plan.blocks.filter((b) => b.op.type === 'ibn').length);
    const y = model.predict(tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 2)) as tf.Tensor[];
    assert.ok(y.every((t) => (t.dataSync() as Float32Array).every(Number.isFinite)));
    tf.dispose(y);
    model.dispose();
  }
});

test('Tucker blocks cost less than fused blocks of the same kernel; MACs grow with expansion', () => {
  const space = mobileDetSpace('full', MOBILEDET_LAYOUT);
  const cost = (label: string) => mobileDetCosts(mobileDetPlan(space, uniform(space, label)), 64).mmacs;
  assert.ok(cost('tucker_k3_i0.25_o0.25') < cost('fused_k3_e4'));
  assert.ok(cost('ibn_k3_e4') < cost('ibn_k3_e8'));
  assert.ok(cost('ibn_k3_e4') < cost('ibn_k5_e4'));
});

test('the MobileNetV2/V3-like references are IBN-only, in both spaces, and differ', () => {
  const full = mobileDetSpace('full');
  const ibn = mobileDetSpace('ibn');
  for (const name of REFERENCE_ARCHITECTURES) {
    const text = full.toString(referenceArchitecture(full, name));
    assert.equal(ibn.toString(referenceArchitecture(ibn, name)), text);
    assert.ok(mobileDetPlan(full, referenceArchitecture(full, name)).blocks.every((b) => b.op.type === 'ibn'));
  }
  assert.notEqual(full.toString(referenceArchitecture(full, 'mobilenetv2')), full.toString(referenceArchitecture(full, 'mobilenetv3')));
  assert.match(full.toString(referenceArchitecture(full, 'mobilenetv3')), /ibn_k5_e8$/);
  assert.throws(() => referenceArchitecture(full, 'resnet'), /unknown reference/);
  // Narrower copies, for matching a searched model's latency: every stage at the multiplier, fewer MACs.
  const narrow = referenceArchitecture(full, 'mobilenetv2', 0.5);
  assert.ok(full.toString(narrow).split('-').filter((p) => p.startsWith('f')).every((p) => p === 'f0.5'));
  const macs = (a: ReturnType<typeof referenceArchitecture>) => mobileDetCosts(mobileDetPlan(full, a), 64).mmacs;
  assert.ok(macs(narrow) < macs(referenceArchitecture(full, 'mobilenetv2')));
  assert.throws(() => referenceArchitecture(full, 'mobilenetv2', 0.6), /not in the space/);
});
