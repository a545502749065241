/**
 * Seeded numbers of every training loop that runs on train/'s step loop, recorded with the loops as
 * they were written by hand before the move: the move (and any later change to the step loop) must
 * leave them alone. The pure-JS cpu backend makes the numbers the same on every machine.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { fitStandardizer, loadDataset, splitDataset, standardize, type Splits } from '../src/data/index.js';
import { logitsModel, mlp } from '../src/nn/index.js';
import { fit } from '../src/train/index.js';
import { IMAGE_SIZE, trainInfinite } from '../src/robust/index.js';
import { trainGcn } from '../src/nas/predictor/index.js';
import { nb201Space } from '../src/nas/space/index.js';
import { memoryStorage } from '../src/nas/index.js';
import { bignasSupernet, bignasTrain, tabnasSearch, tunasSearch, type StepEvent, type TabnasOptions } from '../src/nas/oneshot/index.js';
import { blobs } from './helpers.js';
import { CViViT, DEFAULT_TOKENIZER, renderStory, sampleStory, trainGenerator, trainTokenizer, type LoadedStory } from '../src/video/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-parity-');

before(async () => {
  await initBackend('cpu');
});

function assertClose(actual: number[], golden: number[], what: string): void {
  const show = JSON.stringify(actual.map((v) => Number(v.toPrecision(9))));
  assert.equal(actual.length, golden.length, `${what}: ${show}`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - golden[i]) <= 1e-6 * Math.max(1, Math.abs(golden[i])), `${what}[${i}]: ${show}`));
}

const sumOf = (ts: tf.Tensor[]): number => ts.reduce((s, t) => s + Array.from(t.dataSync()).reduce((a, v) => a + Math.abs(v), 0), 0);

test('fit: per-batch losses and rates, epoch metrics (adam, warmup-cosine, dropout, smoothing)', async () => {
  const s = splitDataset(loadDataset('iris'), { val: 0.2, test: 0, seed: 1 });
  const st = fitStandardizer(s.train);
  setSeed(3);
  const model = mlp({ inputs: 4, hidden: [16], outputs: 3, dropout: 0.2 });
  const batches: number[] = [];
  const r = await fit(model, { train: standardize(s.train, st), val: standardize(s.val, st) }, {
    epochs: 2, batchSize: 40, schedule: 'warmup-cosine', warmupEpochs: 0.5, lr: 1e-2, labelSmoothing: 0.1, seed: 3,
    onBatch: (e) => batches.push(e.loss, e.lr),
  });
  assertClose(batches, GOLDEN.fitBatches, 'batches');
  assertClose(r.history.flatMap((h) => [h.loss, h.accuracy, h.valLoss!, h.valAccuracy!, h.lr]), GOLDEN.fitEpochs, 'epochs');
  model.dispose();
});

test('fit: sgd with momentum through a resumed checkpoint', async () => {
  const s = splitDataset(loadDataset('iris'), { val: 0, test: 0, seed: 2 });
  setSeed(4);
  const model = mlp({ inputs: 4, hidden: [8], outputs: 3 });
  const losses: number[] = [];
  const dir = path.join(tmp, 'fit-sgd');
  const ac = new AbortController();
  const o = { epochs: 2, batchSize: 50, optimizer: 'sgd', lr: 0.05, schedule: 'cosine', seed: 4, checkpointDir: dir };
  const first = await fit(model, { train: s.train }, { ...o, onBatch: (e) => { losses.push(e.loss); if (e.step === 4) ac.abort(); }, signal: ac.signal });
  assert.ok(first.aborted);
  await fit(model, { train: s.train }, { ...o, onBatch: (e) => losses.push(e.loss) });
  assertClose([...losses, sumOf(model.getWeights())], GOLDEN.fitSgd, 'sgd');
  model.dispose();
});

test('robust trainInfinite: logged losses', () => {
  setSeed(5);
  const model = logitsModel(mlp({ inputs: [IMAGE_SIZE, IMAGE_SIZE, 1], hidden: [8], outputs: 2 }));
  const losses: number[] = [];
  trainInfinite(model, { steps: 5, batchSize: 8, learningRate: 3e-3, sigma: 0.1, rng: createRng(5), logEvery: 2, onLog: (_, l) => losses.push(l) });
  assertClose([...losses, sumOf(model.getWeights())], GOLDEN.robust, 'robust');
  model.dispose();
});

test('GCN predictor: predictions after training', () => {
  const rng = createRng(6);
  const graphs = Array.from({ length: 12 }, () => nb201Space.graph(nb201Space.sample(rng)));
  const y = graphs.map((_, i) => Math.sin(i));
  const g = trainGcn(graphs, y, { hidden: 8, fc: 8, dropout: 0.1, epochs: 3, batch: 5, lr: 1e-2, weightDecay: 1e-3, seed: 6 });
  assertClose(g.predict(graphs), GOLDEN.gcn, 'gcn');
  g.dispose();
});

// The absolute-time, single-codebook tokenizer the goldens were recorded with.
const TINY = { ...DEFAULT_TOKENIZER, patch: 8, dim: 16, heads: 2, mlp: 32, codebook: 16, codeDim: 4, groups: 1, temporalWindow: undefined };
const stories = (): LoadedStory[] => [1, 2].map((i) => {
  const story = sampleStory(createRng(i), `s${i}`, { split: 'train', segments: 2 });
  return { story, video: renderStory(story) };
});

test('video trainTokenizer: reconstruction, perplexity and weights (with a dead-code restart)', async () => {
  setSeed(7);
  const r = await trainTokenizer(stories(), {
    checkpoint: path.join(tmp, 'tok'), steps: 26, batch: 1, clipFrames: 5, lr: 3e-3, seed: 7, saveEvery: 10,
    deadThreshold: 0.5, foregroundWeight: 3, config: TINY, quiet: true, log: () => {},
  });
  assertClose([r.recon, r.perplexity, sumOf(r.model.params.list())], GOLDEN.tokenizer, 'tokenizer');
});

const generatorRun = async (dir: string, steps: number) => {
  setSeed(8);
  const tok = new CViViT(TINY);
  tok.build();
  return trainGenerator(stories(), tok, {
    checkpoint: path.join(tmp, dir), steps, batch: 2, lr: 3e-3, seed: 8, saveEvery: 2, textDrop: 0.2, changeWeight: 1, contextSteps: 2,
    config: { dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1 }, quiet: true, log: () => {},
  });
};

test('video trainGenerator: loss and weights, also when resumed from a checkpoint', async () => {
  const r = await generatorRun('gen', 3);
  assertClose([r.loss, sumOf(r.model.params.list())], GOLDEN.generator, 'generator');
  await generatorRun('gen-resumed', 2);
  const resumed = await generatorRun('gen-resumed', 3);
  assertClose([sumOf(resumed.model.params.list())], GOLDEN.generator.slice(1), 'resumed generator');
});

const blobSplits = (seed: number, dims: number, shape?: number[]): Splits =>
  ({ train: blobs(48, dims, 3, seed, shape), val: blobs(24, dims, 3, seed + 1, shape), test: blobs(24, dims, 3, seed + 2, shape) });
const TINY_CONV = { channels: [4, 8], strides: [1, 2], depth: 2, stem: 4, maxExpansion: 4, kernels: [3, 5] };

test('BigNAS sandwich training: losses, weights and step events, through an abort and a resumed checkpoint', async () => {
  const splits = blobSplits(7, 64, [8, 8, 1]);
  const dir = path.join(tmp, 'bignas');
  const o = { train: splits.train, steps: 5, batchSize: 8, lr: 1e-2, weightDecay: 1e-4, randomChildren: 2, seed: 1, checkpointDir: dir, checkpointEvery: 2 };
  const events: number[] = [];
  const ac = new AbortController();
  setSeed(2);
  const aborted = bignasSupernet([8, 8, 1], 3, TINY_CONV, [6, 8]);
  const first = await bignasTrain({ ...o, supernet: aborted, signal: ac.signal,
    onStep: (e) => { events.push(e.step, e.steps, e.loss); if (e.step === 3) ac.abort(); } });
  assert.equal(first.steps, 3);
  aborted.dispose();
  // Other initial weights: the resumed run must take the checkpoint's.
  setSeed(9);
  const net = bignasSupernet([8, 8, 1], 3, TINY_CONV, [6, 8]);
  const r2 = await bignasTrain({ ...o, supernet: net, onStep: (e) => events.push(e.step, e.steps, e.loss) });
  assert.equal(r2.resumedFrom, 3);
  assert.equal(r2.steps, 5);
  assertClose([...events, ...r2.losses, sumOf(net.variables)], GOLDEN.bignas, 'bignas');
  net.dispose();
  setSeed(2);
  const wild = bignasSupernet([8, 8, 1], 3, TINY_CONV, [6, 8]);
  await assert.rejects(bignasTrain({ ...o, checkpointDir: undefined, supernet: wild, lr: 1e30 }), /^KilnError: BigNAS training diverged \(loss NaN\) at step 2: lower --lr$/);
  wild.dispose();
});

test('TabNAS search: losses, qualities, the controller\'s choices and weights, through a crash, an abort and two resumes', async () => {
  const base: TabnasOptions = {
    splits: blobSplits(4, 6), layers: 2, widths: [4, 8, 16], limit: 120, mode: 'rejection', steps: 12, batchSize: 8, lr: 1e-2,
    controllerLr: 0.2, warmup: 0.25, quality: 'likelihood', seed: 3, checkpointDir: path.join(tmp, 'tabnas'), checkpointEvery: 5,
    storage: memoryStorage(),
  };
  const events: number[] = [];
  const record = (e: StepEvent) => events.push(e.step, e.loss, e.quality ?? -1);
  setSeed(5);
  // A crash at step 7 (checkpoint at 5), an abort at step 9, then the rest.
  await assert.rejects(tabnasSearch({ ...base, onStep: (e) => { record(e); if (e.step === 7) throw new Error('crash'); } }), /crash/);
  const ac = new AbortController();
  const second = await tabnasSearch({ ...base, signal: ac.signal, onStep: (e) => { record(e); if (e.step === 9) ac.abort(); } });
  assert.ok(second.search.aborted);
  assert.equal(second.search.resumedFrom, 5);
  second.supernet.dispose();
  const r = await tabnasSearch({ ...base, onStep: record });
  assert.equal(r.search.resumedFrom, 9);
  assert.deepEqual(r.search.study.trials().map((t) => `${t.arch} ${t.state}`), GOLDEN.tabnasArchs);
  assert.equal(r.space.toString(r.pick), GOLDEN.tabnasPick);
  const logits = (r.controller.state() as { logits: number[][] }).logits.flat();
  assertClose([...events, ...r.search.losses, ...r.search.qualities.map((q) => (Number.isNaN(q) ? -1 : q)), ...logits,
    sumOf(r.supernet.variables)], GOLDEN.tabnas, 'tabnas');
  r.supernet.dispose();
  const wild = memoryStorage();
  await assert.rejects(tabnasSearch({ ...base, checkpointDir: undefined, storage: wild, lr: 1e30 }),
    /^KilnError: supernet training diverged \(loss NaN\) at step 2: lower --lr$/);
  assert.deepEqual(wild.trials('tabnas-rejection-seed3').map((t) => [t.state, t.error ?? null]),
    [['complete', null], ['failed', 'supernet training diverged (loss NaN) at step 2: lower --lr']]);
});

test('TuNAS search (path dropout in the warm-up, abs reward): losses, qualities, the controller\'s choices and weights', async () => {
  const splits = blobSplits(11, 64, [8, 8, 1]);
  // A stand-in latency: the sum of the choice indices.
  const latency = { name: 'latency_fake', metric: 'latency_ms', cost: (a: { values: number[] }) => 1 + a.values.reduce((s, v) => s + v, 0) };
  setSeed(3);
  const r = await tunasSearch({ splits, backbone: { ...TINY_CONV, maxExpansion: 6, kernels: [3, 5, 7] }, latency, target: 8, beta: -0.5,
    steps: 6, batchSize: 8, lr: 1e-2, controllerLr: 0.3, warmup: 0.5, quality: 'accuracy', seed: 2 });
  assert.deepEqual(r.search.study.trials().map((t) => t.arch), GOLDEN.tunasArchs);
  assertClose([...r.search.losses, ...r.search.qualities.map((q) => (Number.isNaN(q) ? -1 : q)), ...r.probs.flat(), sumOf(r.supernet.variables)], GOLDEN.tunas, 'tunas');
  r.supernet.dispose();
});

const GOLDEN = {
  fitBatches: [1.13766026,0.005,1.14545321,0.01,1.10022283,0.01,0.969964206,0.00853553391,1.02050853,0.005,0.7901299,0.00146446609],
  fitEpochs: [1.12777877,0.4,0.825427246,0.7,0.01,0.926867545,0.625,0.724657313,0.833333333,0.00146446609],
  fitSgd: [2.44961786,0.977969766,1.80250764,1.435045,1.21949613,0.992059886,17.6632796],
  robust: [0.728742272,0.706833243,0.701121271,281.429365],
  gcn: [-0.0108362716,-0.0101029389,-0.0117388899,-0.0114030708,-0.0123530896,-0.0138103347,-0.0109829921,-0.0112110395,-0.0113219209,-0.0113814352,-0.011345977,-0.012139257],
  tokenizer: [0.806378139,9.33652509,4091.35603],
  generator: [2.82304796,1464.40762],
  bignas: [1,5,5.05463266,2,5,4.7635951,3,5,4.48972654,4,5,4.48022509,5,5,3.66963506,5.05463266,4.7635951,4.48972654,4.48022509,3.66963506,571.440953],
  tabnas: [1,1.07354927,-1,2,1.23539162,-1,3,1.21879518,-1,4,1.17852664,0.334881306,5,0.916253984,0.352856129,6,0.964271605,0.354947358,7,1.02649868,0.307065189,6,0.964271605,0.354947358,7,1.02649868,0.307065189,8,1.24319494,0.3115789,9,1.32231963,0.315281272,10,1.05263138,0.358846873,11,0.945756853,0.359026968,12,1.0196954,0.349641949,1.07354927,1.23539162,1.21879518,1.17852664,0.916253984,0.964271605,1.02649868,1.24319494,1.32231963,1.05263138,0.945756853,1.0196954,-1,-1,-1,0.334881306,0.352856129,0.354947358,0.307065189,0.3115789,0.315281272,0.358846873,0.359026968,0.349641949,0.776346645,-0.776346645,3.78868656e-12,-0.0699385237,0.0699385237,1.49037441e-11,111.637984],
  tabnasArchs: ['4-4 complete', '4-4 complete', '4-4 complete', '4-8 complete', '4-4 complete', '4-4 failed', '8-4 failed', '4-4 complete', '8-4 complete',
    '8-4 complete', '8-4 complete', '4-4 complete', '4-4 complete', '4-8 complete'],
  tabnasPick: '4-8',
  tunas: [0.95121479,1.06109536,1.65972352,0.959685504,0.99753046,1.46550226,-1,-1,-1,0.833333313,0.541666687,0.458333343,0.300941933,0.184435018,0.514623049,0.514623049,0.300941933,0.184435018,0.514623049,0.300941933,0.184435018,0.646095229,0.353904771,0.118329295,0.440835352,0.440835352,0.440835352,0.440835352,0.118329295,0.184435018,0.514623049,0.300941933,0.184435018,0.300941933,0.514623049,0.184435018,0.300941933,0.514623049,0.203765907,0.796234093,0.118329295,0.440835352,0.440835352,0.300941933,0.514623049,0.184435018,1047.01169],
  tunasArchs: ['f0.75-k5-e6-skip-k7-e3-f0.5-k7-e6-skip-k7-e1', 'f0.5-k7-e3-on-k3-e1-f0.75-k7-e6-skip-k7-e1', 'f1-k7-e1-on-k5-e1-f0.5-k7-e6-on-k7-e6',
    'f1-k7-e6-on-k5-e1-f0.5-k5-e3-on-k7-e1', 'f0.75-k7-e6-skip-k3-e6-f0.5-k3-e1-on-k3-e6', 'f0.5-k5-e3-on-k3-e6-f1-k5-e3-on-k3-e1'],
};
