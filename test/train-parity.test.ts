/**
 * Seeded numbers of every training loop that runs on train/'s step loop, recorded with the loops as
 * they were written by hand before the move: the move (and any later change to the step loop) must
 * leave them alone. The pure-JS cpu backend makes the numbers the same on every machine.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { fitStandardizer, loadDataset, splitDataset, standardize } from '../src/data/index.js';
import { logitsModel, mlp } from '../src/nn/index.js';
import { fit } from '../src/train/index.js';
import { IMAGE_SIZE, trainInfinite } from '../src/robust/index.js';
import { trainGcn } from '../src/nas/predictor/index.js';
import { nb201Space } from '../src/nas/space/index.js';
import { CViViT, DEFAULT_TOKENIZER, renderStory, sampleStory, trainGenerator, trainTokenizer, type LoadedStory } from '../src/video/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-parity-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

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

const TINY = { ...DEFAULT_TOKENIZER, patch: 8, dim: 16, heads: 2, mlp: 32, codebook: 16, codeDim: 4 };
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
    checkpoint: path.join(tmp, dir), steps, batch: 2, lr: 3e-3, seed: 8, saveEvery: 2, textDrop: 0.2, contextSteps: 2,
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

const GOLDEN = {
  fitBatches: [1.13766026,0.005,1.14545321,0.01,1.10022283,0.01,0.969964206,0.00853553391,1.02050853,0.005,0.7901299,0.00146446609],
  fitEpochs: [1.12777877,0.4,0.825427246,0.7,0.01,0.926867545,0.625,0.724657313,0.833333333,0.00146446609],
  fitSgd: [2.44961786,0.977969766,1.80250764,1.435045,1.21949613,0.992059886,17.6632796],
  robust: [0.728742272,0.706833243,0.701121271,281.429365],
  gcn: [-0.0108362716,-0.0101029389,-0.0117388899,-0.0114030708,-0.0123530896,-0.0138103347,-0.0109829921,-0.0112110395,-0.0113219209,-0.0113814352,-0.011345977,-0.012139257],
  tokenizer: [0.806378139,9.33652509,4091.35603],
  generator: [2.82304796,1464.40762],
};
