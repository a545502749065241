import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRng, projectRoot } from '../src/core/index.js';
import { tf, initBackend, setSeed } from '../src/backend/index.js';
import { CViViT, DEFAULT_TOKENIZER, edgeError, trainTokenizer, checkSameTokens, MaskGit, sampleWindow, cosineSchedule, createWordTokenizer, generateStory, renderStory, sampleStory, loadTokenizer, evaluateStories, evaluateTokenizer, SYSTEMS, clip, loadGenerator, DEFAULT_SAMPLING, scoresMarkdown, FIGURES, COND_FRAMES, maskWindow, trainGenerator } from '../src/video/index.js';
import { curvePlots } from '../src/video/report.js';
import { encodeGif } from '../src/media/index.js';
import { foregroundWeights } from '../src/video/clips.js';
import { buildJudge } from '../src/video/judge.js';
import { saveParams } from '../src/video/layers.js';
import { tempDir } from './temp-dir.js';

const TINY = { ...DEFAULT_TOKENIZER, patch: 8, dim: 16, heads: 2, mlp: 32, codebook: 16, codeDim: 4 };

before(async () => {
  await initBackend();
  setSeed(11);
});

function videoTensor(frames: number, segments = 2): tf.Tensor {
  const story = sampleStory(createRng(3), 's', { split: 'train', segments });
  const v = renderStory(story);
  assert.ok(v.t >= frames, `the test story has ${v.t} frames, fewer than ${frames}`);
  return tf.tensor(v.data.slice(0, frames * 32 * 32 * 3), [1, frames, 32, 32, 3], 'int32');
}

test('C-ViViT: a prefix of a video tokenizes like the same prefix inside the whole video', () => {
  const tok = new CViViT(TINY);
  tok.build();
  const whole = videoTensor(9);
  const ids = tok.encode(whole).arraySync() as number[][][];
  for (const frames of [1, 3, 5, 7]) {
    const prefix = tok.encode(whole.slice([0, 0], [1, frames])).arraySync() as number[][][];
    assert.deepEqual(prefix[0], ids[0].slice(0, prefix[0].length), `prefix of ${frames} frames`);
  }
  // Causality: changing only the last frames leaves earlier time steps' latents untouched.
  const x = whole.toFloat().div(127.5).sub(1);
  const edited = tf.concat([x.slice([0, 0], [1, 5]), x.slice([0, 5], [1, 4]).neg()], 1);
  const za = tok.encodeLatents(x).z;
  const zb = tok.encodeLatents(edited).z;
  assert.ok(za.slice([0, 0], [1, 3]).sub(zb.slice([0, 0], [1, 3])).abs().max().dataSync()[0] < 1e-5, 'future frames leaked into past latents');
  assert.ok(za.slice([0, 3], [1, 2]).sub(zb.slice([0, 3], [1, 2])).abs().max().dataSync()[0] > 1e-4, 'edited frames left their latents unchanged');
});


test('C-ViViT with a temporal window: once the window fills, a step tokenizes the same however long the video before it', () => {
  const tok = new CViViT({ ...TINY, temporalWindow: 2 });
  tok.build();
  const whole = videoTensor(31, 4);
  const wholeZ = tok.encodeLatents(whole.toFloat().div(127.5).sub(1)).z;
  for (const k of [3, 7, 11]) {
    // Drop the first 2k frames: the later clip's step s is the whole video's step s + k.
    const later = whole.slice([0, 2 * k], [1, 31 - 2 * k]);
    const z = tok.encodeLatents(later.toFloat().div(127.5).sub(1)).z;
    const S = z.shape[1]!;
    const a = z.slice([0, 2], [1, S - 2]);
    const b = wholeZ.slice([0, 2 + k], [1, S - 2]);
    assert.ok(a.sub(b).abs().max().dataSync()[0] < 1e-4, `steps after the window differ when ${2 * k} frames come before`);
    // Inside the window the first frame still counts: the step right after it differs.
    assert.ok(z.slice([0, 1], [1, 1]).sub(wholeZ.slice([0, 1 + k], [1, 1])).abs().max().dataSync()[0] > 1e-4, 'the window ignored the first frame');
  }
  // No length limit: the absolute-time tokenizer stops at maxSteps, the windowed one does not.
  const long = tf.concat(Array(6).fill(whole), 1).slice([0, 0], [1, 161]);
  assert.deepEqual(tok.encode(long).shape, [1, 81, 16]);
});
test('C-ViViT: encode/decode shapes for any length', () => {
  const tok = new CViViT(TINY);
  tok.build();
  for (const frames of [1, 2, 4, 5, 8]) {
    const ids = tok.encode(videoTensor(frames));
    const steps = 1 + Math.ceil((frames - 1) / 2);
    assert.deepEqual(ids.shape, [1, steps, 16]);
    const out = tok.decode(ids);
    assert.deepEqual(out.shape, [1, 1 + 2 * (steps - 1), 32, 32, 3]);
    const v = out.dataSync();
    assert.ok(v.every((x) => x >= 0 && x <= 255));
  }
});

test('C-ViViT: training lowers the reconstruction loss and a checkpoint reloads exactly', async () => {
  const tok = new CViViT(TINY);
  tok.build();
  const x = videoTensor(5).toFloat().div(127.5).sub(1);
  const opt = tf.train.adam(3e-3);
  const first = tok.loss(x).recon.dataSync()[0];
  for (let i = 0; i < 25; i++) opt.minimize(() => tok.loss(x).loss as tf.Scalar, false, tok.params.list());
  const after = tok.loss(x).recon.dataSync()[0];
  assert.ok(after < first * 0.8, `recon ${first} -> ${after}`);
  const dir = tempDir('kiln-tok-');
  await saveParams(dir, tok.params, { format: 'kiln-cvivit', config: tok.cfg });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.ok(Array.isArray(json.weightsManifest[0].weights));
  const back = await loadTokenizer(dir);
  assert.deepEqual(back.encode(videoTensor(5)).arraySync(), tok.encode(videoTensor(5)).arraySync());
  fs.rmSync(dir, { recursive: true });
});

test('edge loss: zero for a brightness shift, the mean absolute error of pixel differences otherwise', () => {
  const a = tf.tensor([0, 0, 1, 1, 1, 1, 1, 1, 0], [1, 1, 3, 3, 1]);
  assert.equal(edgeError(a, a.add(0.5)).dataSync()[0], 0);
  // b: a with its centre pixel cleared; per axis, 6 differences of which the centre touches 2.
  const b = tf.tensor([0, 0, 1, 1, 1, 1, 1, 1, 0].map((v, i) => (i === 4 ? 0 : v)), [1, 1, 3, 3, 1]);
  const [vertical, horizontal] = [2 / 6, 2 / 6];
  assert.ok(Math.abs(edgeError(a, b).dataSync()[0] - (vertical + horizontal)) < 1e-6);
});

test('decoder-only fine-tuning keeps the encoder, codebook and every code, also when resumed', async () => {
  const stories = [1, 2].map((i) => {
    const story = sampleStory(createRng(i), `s${i}`, { split: 'train', segments: 2 });
    return { story, video: renderStory(story) };
  });
  const dir = tempDir('kiln-tokdec-');
  const common = { batch: 1, clipFrames: 5, lr: 3e-3, seed: 7, saveEvery: 2, deadThreshold: 0.5, foregroundWeight: 3, quiet: true, log: () => {} };
  const base = await trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'base'), steps: 3, config: TINY });
  const weights = (t: CViViT) => new Map([...t.params.vars].map(([k, v]) => [k, Array.from(v.dataSync())]));
  const before = weights(base.model);
  const codes = base.model.encode(videoTensor(5)).arraySync();
  await trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'dec'), steps: 2, edgeWeight: 1, decoderFrom: path.join(dir, 'base') });
  // Resumed without decoderFrom: the checkpoint's state keeps the run decoder-only.
  const tuned = (await trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'dec'), steps: 4, edgeWeight: 1 })).model;
  const after = weights(tuned);
  let decoderChanged = 0;
  for (const [name, values] of before) {
    if (name.startsWith('dec/')) decoderChanged += Number(values.some((v, i) => v !== after.get(name)![i]));
    else assert.deepEqual(after.get(name), values, `${name} changed`);
  }
  assert.ok(decoderChanged > 0, 'no decoder weight changed');
  assert.deepEqual(tuned.encode(videoTensor(5)).arraySync(), codes);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'dec', 'model.json'), 'utf8'));
  assert.equal(saved.extra.decoderOnly, true);
  assert.equal(saved.extra.step, 4);
  fs.rmSync(dir, { recursive: true });
});

test('a deeper decoder trained on frozen codes: encoder, codebook and codes stay, the old decoder layers seed the new one', async () => {
  const stories = [1, 2].map((i) => {
    const story = sampleStory(createRng(i), `s${i}`, { split: 'train', segments: 2 });
    return { story, video: renderStory(story) };
  });
  const dir = tempDir('kiln-tokdeep-');
  const common = { batch: 1, clipFrames: 5, lr: 3e-3, seed: 7, saveEvery: 2, deadThreshold: 0.5, foregroundWeight: 3, quiet: true, log: () => {} };
  const base = (await trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'base'), steps: 3, config: TINY })).model;
  const codes = base.encode(videoTensor(5)).arraySync();
  const layers = TINY.spatialLayers + 2;
  const ckpt = path.join(dir, 'deep');
  const seeded = (await trainTokenizer(stories, { ...common, checkpoint: ckpt, steps: 0, decoderFrom: path.join(dir, 'base'), config: { decoderSpatialLayers: layers } })).model;
  assert.equal(seeded.cfg.decoderSpatialLayers, layers);
  const names = [...seeded.params.vars.keys()];
  for (let i = 0; i < layers; i++) assert.ok(names.some((n) => n.startsWith(`dec/spatial${i}/`)), `no decoder layer ${i}`);
  assert.ok(!names.some((n) => n.startsWith(`enc/spatial${TINY.spatialLayers}/`)), 'the encoder grew too');
  const values = (t: CViViT, name: string) => Array.from(t.params.vars.get(name)!.dataSync());
  for (const name of base.params.vars.keys()) assert.deepEqual(values(seeded, name), values(base, name), `${name} not copied`);
  const added = names.filter((n) => n.startsWith(`dec/spatial${layers - 1}/`));
  const deep = (await trainTokenizer(stories, { ...common, checkpoint: ckpt, steps: 2, codeNoise: 0.5 })).model;
  for (const name of base.params.vars.keys()) if (!name.startsWith('dec/')) assert.deepEqual(values(deep, name), values(base, name), `${name} changed`);
  assert.ok(added.some((name) => values(deep, name).some((v, i) => v !== values(seeded, name)[i])), 'the added decoder layer did not train');
  const back = await loadTokenizer(path.join(dir, 'deep'));
  assert.equal(back.cfg.decoderSpatialLayers, layers);
  assert.deepEqual(back.encode(videoTensor(5)).arraySync(), codes);
  assert.deepEqual(back.decode(back.encode(videoTensor(5))).shape, [1, 5, TINY.size, TINY.size, 3]);
  fs.rmSync(dir, { recursive: true });
});

test('code noise: needs a decoder-only run and a share in [0, 1)', async () => {
  const story = sampleStory(createRng(1), 's1', { split: 'train', segments: 1 });
  const stories = [{ story, video: renderStory(story) }];
  const dir = tempDir('kiln-toknoise-');
  const common = { batch: 1, clipFrames: 5, lr: 3e-3, seed: 7, saveEvery: 2, deadThreshold: 0.5, foregroundWeight: 3, quiet: true, log: () => {}, config: TINY };
  await assert.rejects(trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'a'), steps: 1, codeNoise: 0.1 }), /--decoder-from/);
  await trainTokenizer(stories, { ...common, checkpoint: path.join(dir, 'base'), steps: 1 });
  for (const bad of [1, -0.1, NaN]) {
    await assert.rejects(trainTokenizer(stories, { ...common, checkpoint: path.join(dir, `b${bad}`), steps: 1, codeNoise: bad, decoderFrom: path.join(dir, 'base') }), /code noise must be in \[0, 1\)/);
  }
  fs.rmSync(dir, { recursive: true });
});

test('code corruption: an empty mask leaves the loss alone; a swapped patch is decoded from the code it was handed', () => {
  const tok = new CViViT(TINY);
  tok.build();
  const x = videoTensor(5).toFloat().div(127.5).sub(1);
  const shape = [1, tok.steps(5), tok.patchesPerStep];
  const n = shape[1] * shape[2];
  const none = { mask: tf.tensor(new Uint8Array(n), shape, 'bool'), from: tf.range(0, n, 1, 'int32').reshape(shape) };
  assert.equal(tok.loss(x, undefined, 0, none).recon.dataSync()[0], tok.loss(x).recon.dataSync()[0]);
  // Every patch handed the code of flat position 3: the decoder reads that one code everywhere.
  const all = { mask: tf.tensor(new Uint8Array(n).fill(1), shape, 'bool'), from: tf.fill(shape, 3, 'int32') };
  const id = tok.encodeLatents(x).ids.reshape([-1]).arraySync() as number[];
  const expected = tf.losses.meanSquaredError(x, tok.decodeLatents(tok.lookup(tf.fill(shape, id[3], 'int32')))).dataSync()[0];
  assert.ok(Math.abs(tok.loss(x, undefined, 0, all).recon.dataSync()[0] - expected) < 1e-6);
});

test('product quantisation: each group picks its nearest code, the id packs them, and lookup unpacks it', () => {
  const tok = new CViViT({ ...TINY, groups: 2 });
  tok.build();
  assert.equal(tok.vocabulary, 256);
  const x = videoTensor(5).toFloat().div(127.5).sub(1);
  const { z, ids } = tok.encodeLatents(x);
  const C = TINY.codeDim;
  const zs = z.reshape([-1, 2 * C]).arraySync() as number[][];
  const id = ids.reshape([-1]).arraySync() as number[];
  const books = [tok.codebook(0).arraySync(), tok.codebook(1).arraySync()] as number[][][];
  const dot = (a: number[], b: number[]) => a.reduce((t, v, i) => t + v * b[i], 0);
  zs.forEach((row, r) => {
    const parts = [row.slice(0, C), row.slice(C)];
    parts.forEach((part) => assert.ok(Math.abs(Math.hypot(...part) - 1) < 1e-4, 'each group is unit length'));
    const best = parts.map((part, g) => books[g].reduce((b, code, k) => (dot(part, code) > dot(part, books[g][b]) ? k : b), 0));
    assert.equal(id[r], best[0] + 16 * best[1]);
  });
  const back = tok.lookup(ids).reshape([-1, 2 * C]).arraySync() as number[][];
  back.forEach((row, r) => {
    const [c0, c1] = [id[r] % 16, Math.floor(id[r] / 16)];
    [...books[0][c0], ...books[1][c1]].forEach((v, i) => assert.ok(Math.abs(row[i] - v) < 1e-5));
  });
  assert.deepEqual(tok.decode(ids).shape, [1, 5, 32, 32, 3]);
  assert.throws(() => new CViViT({ ...TINY, codebook: 2048, groups: 3 }), /does not fit 32-bit ids/);
});

function tinyGenerator(factorized = false, codeGroups = TINY.groups ?? 1): MaskGit {
  const text = createWordTokenizer();
  const m = new MaskGit({ codes: 16, ...(codeGroups > 1 ? { codeGroups } : {}), windowSteps: 5, tokensPerStep: 16, vocab: text.words.length, textLen: text.maxLen, dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1, labelSmoothing: 0.1, factorized });
  m.build();
  return m;
}

const ATTENTION = [{ name: 'full', factorized: false }, { name: 'divided space-time', factorized: true }];

for (const { name, factorized } of ATTENTION) {
  test(`MaskGIT (${name} attention): cosine schedule and parallel decoding keep known tokens and fill the rest`, () => {
    assert.equal(cosineSchedule(0), 1);
    assert.ok(Math.abs(cosineSchedule(1)) < 1e-12);
    const m = tinyGenerator(factorized);
    const text = createWordTokenizer();
    const known = new Int32Array(m.tokens).fill(-1);
    for (let i = 0; i < 32; i++) known[i] = i % 16;
    const out = sampleWindow(m, known, text.encode('a red square jumps'), text.nullIds(), { steps: 4, temperature: 1, guidance: 2, choiceTemperature: 4.5, rng: createRng(1) });
    for (let i = 0; i < 32; i++) assert.equal(out[i], i % 16);
    assert.ok(out.every((t) => t >= 0 && t < m.maskId));
  });
}

test('MaskGIT divided attention: every token sees every other token after one space-time layer', () => {
  const text = createWordTokenizer();
  const m = new MaskGit({ codes: 16, windowSteps: 5, tokensPerStep: 16, vocab: text.words.length, textLen: text.maxLen, dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1, labelSmoothing: 0, factorized: true });
  m.build();
  const base = Array.from({ length: m.tokens }, (_, i) => i % 16);
  const edited = [...base];
  // Token 0 (step 0, position 0) and the last token (step 4, position 15) share neither a step nor a position.
  edited[0] = 5;
  const t = tf.tensor2d([text.encode('a red square jumps'), text.encode('a red square jumps')], [2, text.maxLen], 'int32');
  const out = m.logits(tf.tensor2d([base, edited], [2, m.tokens], 'int32'), t).arraySync() as number[][][];
  const last = m.tokens - 1;
  assert.ok(Math.max(...out[0][last].map((v, k) => Math.abs(v - out[1][last][k]))) > 1e-6, 'the change never reached the far token');
});

test('masked windows: known steps stay, masked tokens weigh changeWeight where the code changed since the step before', () => {
  const P = 4;
  // Three steps; position 1 changes at step 1 and position 2 at step 2.
  const target = Int32Array.from([5, 6, 7, 8, 5, 9, 7, 8, 5, 9, 3, 8]);
  const rng = createRng(4);
  let sawChanged = 0;
  for (let trial = 0; trial < 200; trial++) {
    const known = trial % 2;
    const { input, weights } = maskWindow(rng, target, known, P, 99, 6);
    for (let pos = 0; pos < target.length; pos++) {
      if (pos < known * P) assert.equal(input[pos], target[pos], 'a known token was masked');
      if (input[pos] !== 99) {
        assert.equal(input[pos], target[pos]);
        assert.equal(weights[pos], 0, 'an unmasked token carries loss');
        continue;
      }
      const changed = pos === 5 || pos === 10;
      assert.equal(weights[pos], changed ? 6 : 1, `weight at ${pos}`);
      if (changed) sawChanged++;
    }
    assert.ok(weights.some((w) => w > 0), 'nothing masked');
  }
  assert.ok(sawChanged > 50, 'changed tokens were rarely masked');
});

/** An untrained tiny tokenizer and two short training stories, enough to run the generator's training loop. */
function tinyTokenizerAndStories() {
  const tok = new CViViT(TINY);
  tok.build();
  const stories = [1, 2].map((i) => {
    const story = sampleStory(createRng(i), `s${i}`, { split: 'train', segments: 2 });
    return { story, video: renderStory(story) };
  });
  return { tok, stories };
}

test('the generator keeps its training curve with held-out scores in the checkpoint, and the eval report plots it', async () => {
  const { tok, stories } = tinyTokenizerAndStories();
  const dir = tempDir('kiln-curve-');
  const scoredAt: number[] = [];
  const monitor = { every: 4, score: (gen: { curve?: unknown[] }) => { scoredAt.push(gen.curve!.length); return { action: 10 * scoredAt.length, shape: 50, colour: 70, motion: NaN, size: 20, travel: 1 }; } };
  const options = {
    checkpoint: dir, batch: 2, lr: 3e-3, seed: 8, saveEvery: 2, textDrop: 0.2, changeWeight: 4, contextSteps: 2, monitor,
    config: { dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1 }, quiet: true, log: () => {},
  };
  await trainGenerator(stories, tok, { ...options, steps: 6 });
  await trainGenerator(stories, tok, { ...options, steps: 8 });
  const { curve } = await loadGenerator(dir);
  assert.deepEqual(curve!.map((p) => p.step), [2, 4, 6, 8], 'a point per checkpoint, kept across the resume');
  assert.ok(curve!.every((p) => Number.isFinite(p.loss) && p.loss > 0));
  assert.deepEqual(curve!.map((p) => p.scores?.action), [undefined, 10, undefined, 20], 'scored every 4 steps');
  const plots = curvePlots(curve!);
  assert.deepEqual(Object.keys(plots).sort(), ['curves/held-out.svg', 'curves/loss.svg']);
  assert.match(plots['curves/held-out.svg'], /action/);
  assert.doesNotMatch(plots['curves/held-out.svg'], />motion</, 'a figure with nothing to score is left out');
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: path.join(dir, 'other'), steps: 2, monitor: { ...monitor, every: 3 } }), /multiple of the checkpoint interval/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a generator continued from a trained one (--init-from) starts from its weights and carries on its step count, curve and context length unless given another', async () => {
  const { tok, stories } = tinyTokenizerAndStories();
  const dir = tempDir('kiln-continue-');
  const options = {
    batch: 2, lr: 3e-3, seed: 8, saveEvery: 2, textDrop: 0.2, changeWeight: 4,
    config: { dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1 }, quiet: true, log: () => {},
  };
  const first = path.join(dir, 'first'), next = path.join(dir, 'next'), longer = path.join(dir, 'longer');
  await trainGenerator(stories, tok, { ...options, checkpoint: first, steps: 4, contextSteps: 1 });
  const trained = await loadGenerator(first);
  // Zero further steps would only copy; the continuation must be asked for more steps than were trained.
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: next, initFrom: first, steps: 4 }), /has trained 4 steps already/);
  const lines: string[] = [];
  await trainGenerator(stories, tok, { ...options, checkpoint: next, initFrom: first, steps: 6, lr: 0, log: (l: string) => lines.push(l) });
  assert.match(lines.join('\n'), /continuing the generator of .* at step 4\/6 with a fresh optimizer/);
  const continued = await loadGenerator(next);
  assert.equal(continued.contextSteps, 1, 'the trained generator\'s context length is kept');
  assert.deepEqual(continued.curve!.map((p) => p.step), [2, 4, 6], 'the curve goes on from the trained steps');
  assert.deepEqual(continued.curve!.slice(0, 2), trained.curve);
  // At learning rate 0 the continued weights are the trained ones.
  for (const [name, v] of trained.model.params.vars) {
    assert.deepEqual(Array.from(continued.model.params.vars.get(name)!.dataSync()), Array.from(v.dataSync()), name);
  }
  // Continued with a longer context, it trains and story mode reads the new length from the checkpoint.
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: longer, initFrom: first, steps: 6, contextSteps: 5 }), /context steps must be a whole number from 1 to 4, below the window's 5 steps \(got 5\)/);
  await trainGenerator(stories, tok, { ...options, checkpoint: longer, initFrom: first, steps: 6, contextSteps: 3 });
  assert.equal((await loadGenerator(longer)).contextSteps, 3);
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: longer, steps: 8, contextSteps: 1 }), /trains with 3 context steps: resume it with that many or without the option \(got 1\)/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('layers stacked on a continued generator (--add-layers) start as the identity, then train', async () => {
  const { tok, stories } = tinyTokenizerAndStories();
  const dir = tempDir('kiln-stack-');
  const options = {
    batch: 2, lr: 3e-3, seed: 8, saveEvery: 2, textDrop: 0.2, changeWeight: 4, contextSteps: 2,
    config: { dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1 }, quiet: true, log: () => {},
  };
  const first = path.join(dir, 'first'), still = path.join(dir, 'still'), deeper = path.join(dir, 'deeper');
  await trainGenerator(stories, tok, { ...options, checkpoint: first, steps: 4 });
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: path.join(dir, 'bare'), steps: 2, addLayers: 2 }), /needs a trained generator/);
  await assert.rejects(trainGenerator(stories, tok, { ...options, checkpoint: path.join(dir, 'half'), initFrom: first, steps: 6, addLayers: 1.5 }), /whole number >= 0/);
  const lines: string[] = [];
  await trainGenerator(stories, tok, { ...options, checkpoint: still, initFrom: first, addLayers: 2, steps: 6, lr: 0, log: (l: string) => lines.push(l) });
  assert.match(lines.join('\n'), /2 layers added on top \(3 in all\)/);
  const trained = await loadGenerator(first), stacked = await loadGenerator(still);
  assert.equal(stacked.model.cfg.layers, 3);
  assert.ok(stacked.model.params.vars.has('main/spatial2/fc1/kernel') && stacked.model.params.vars.has('main/temporal2/attn/q/kernel'));
  // The added layers are not blank: only their output projections start at zero.
  assert.ok(tf.tidy(() => stacked.model.params.vars.get('main/spatial1/fc1/kernel')!.abs().sum().arraySync() as number) > 0);
  const rng = createRng(5);
  const ids = tf.tensor2d([Array.from({ length: trained.model.tokens }, () => rng.int(trained.model.maskId + 1))], [1, trained.model.tokens], 'int32');
  const text = tf.tensor2d([trained.text.encode('a red square moves right', null)], [1, trained.model.cfg.textLen], 'int32');
  const before = trained.model.logits(ids, text).dataSync(), after = stacked.model.logits(ids, text).dataSync();
  assert.ok(before.every((x, i) => Math.abs(x - after[i]) < 1e-5), 'the deeper model computes what the trained one did');
  await trainGenerator(stories, tok, { ...options, checkpoint: deeper, initFrom: first, addLayers: 2, steps: 6 });
  const moved = (await loadGenerator(deeper)).model.params.vars.get('main/temporal2/fc2/kernel')!;
  assert.ok(tf.tidy(() => moved.abs().sum().arraySync() as number) > 0, 'the added layers learn');
  tf.dispose([ids, text]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a continued generator\'s learning-rate schedule spans the steps it adds, and a resumed run keeps following it', async () => {
  const { tok, stories } = tinyTokenizerAndStories();
  const dir = tempDir('kiln-schedule-');
  const options = {
    batch: 2, lr: 1e-2, seed: 8, saveEvery: 1, textDrop: 0.2, changeWeight: 4, contextSteps: 2,
    config: { dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1 }, quiet: true, log: () => {},
  };
  const first = path.join(dir, 'first'), cosine = path.join(dir, 'cosine'), byHand = path.join(dir, 'by-hand'), resumed = path.join(dir, 'resumed');
  await trainGenerator(stories, tok, { ...options, checkpoint: first, steps: 4 });
  // Cosine from 1e-2 to 0 over steps 4-5 of a continuation: 1e-2 at step 4, 5e-3 at step 5.
  // Held-out scoring runs just before a checkpoint is written: at step 6 the folder still holds the
  // step-5 checkpoint, which is copied as a run killed there would leave it.
  const monitor = { every: 1, score: (gen: { curve?: { step: number }[] }) => {
    if (gen.curve!.at(-1)!.step === 5) fs.cpSync(cosine, resumed, { recursive: true });
    return {};
  } };
  await trainGenerator(stories, tok, { ...options, checkpoint: cosine, initFrom: first, steps: 6, schedule: 'cosine', monitor });
  await trainGenerator(stories, tok, { ...options, checkpoint: byHand, initFrom: first, steps: 5 });
  await trainGenerator(stories, tok, { ...options, checkpoint: byHand, steps: 6, lr: 5e-3 });
  await trainGenerator(stories, tok, { ...options, checkpoint: resumed, steps: 6, schedule: 'cosine' });
  const weights = async (d: string) => [...(await loadGenerator(d)).model.params.vars].map(([n, v]) => [n, Array.from(v.dataSync())] as const);
  const want = await weights(byHand);
  for (const d of [cosine, resumed]) {
    for (const [i, [name, v]] of (await weights(d)).entries()) {
      assert.ok(v.every((x, j) => Math.abs(x - want[i][1][j]) < 1e-6), `${path.basename(d)} ${name}: the cosine schedule took the rates 1e-2 then 5e-3`);
    }
  }
  assert.notDeepEqual(await weights(first), want, 'the steps did train');
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const groups of [1, 2]) {
  test(`MaskGIT with ${groups} code group(s): training on one window drives its masked-token loss down, and sampling keeps known tokens`, () => {
    const m = tinyGenerator(false, groups);
    const vocab = 16 ** groups;
    assert.equal(m.maskId, vocab);
    const text = createWordTokenizer();
    const N = m.tokens;
    const target = tf.tensor2d([Array.from({ length: N }, (_, i) => (i * 7 + (i >> 3) * 16 * 5) % vocab)], [1, N], 'int32');
    const mask = tf.tensor2d([Array.from({ length: N }, (_, i) => (i % 2 ? 1 : 0))], [1, N]);
    const input = tf.where(mask.cast('bool'), tf.fill([1, N], m.maskId, 'int32'), target);
    const t = tf.tensor2d([text.encode('the blue circle grows')], [1, text.maxLen], 'int32');
    // The loss is the masked mean of the sum of each group's label-smoothed cross-entropy, group g's
    // code being digit g of the token id in base 16.
    const l0 = m.loss(input, target, mask, t).dataSync()[0];
    const logits = m.logits(input, t).arraySync() as number[][][];
    const ids = target.dataSync();
    let sum = 0;
    for (let i = 1; i < N; i += 2) {
      for (let g = 0; g < groups; g++) {
        const row = logits[0][i].slice(g * 16, (g + 1) * 16);
        const max = Math.max(...row);
        const logZ = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        const code = Math.floor(ids[i] / 16 ** g) % 16;
        row.forEach((v, k) => (sum -= ((k === code ? 0.9 : 0) + 0.1 / 16) * (v - logZ)));
      }
    }
    assert.ok(Math.abs(l0 - sum / (N / 2)) < 1e-4, `loss ${l0} against ${sum / (N / 2)} by hand`);
    const opt = tf.train.adam(1e-2);
    for (let i = 0; i < 80; i++) opt.minimize(() => m.loss(input, target, mask, t) as tf.Scalar, false, m.params.list());
    const l1 = m.loss(input, target, mask, t).dataSync()[0];
    assert.ok(l1 < l0 * 0.5, `loss ${l0} -> ${l1}`);
    const known = Int32Array.from(target.dataSync(), (v, i) => (i % 2 ? -1 : v));
    const out = sampleWindow(m, known, text.encode('the blue circle grows'), text.nullIds(), { steps: 4, temperature: 0.3, guidance: 2, choiceTemperature: 4.5, rng: createRng(1) });
    known.forEach((v, i) => { if (v >= 0) assert.equal(out[i], v); });
    assert.ok(out.every((v) => v >= 0 && v < vocab));
    // Trained on this window, it fills the masked half back in.
    const right = Array.from(out).filter((v, i) => i % 2 === 1 && v === target.dataSync()[i]).length;
    assert.ok(right > N / 2 * 0.8, `${right} of ${N / 2} masked tokens recovered (loss ${l0} -> ${l1})`);
  });
}

test('a generator is refused with a tokenizer whose tokens differ, in one line', () => {
  const tok = new CViViT({ ...TINY, codebook: 16, patch: 8 });
  checkSameTokens(tok, tinyGenerator());
  assert.throws(() => checkSameTokens(new CViViT({ ...TINY, codebook: 16, patch: 8, groups: 2 }), tinyGenerator(false, 1)), /generator speaks other tokens \(16 codes, 16 tokens per step\) than the tokenizer \(16 codes x 2 groups, 16 tokens per step\)/);
  assert.throws(() => checkSameTokens(new CViViT({ ...TINY, codebook: 16, patch: 4 }), tinyGenerator()), /64 tokens per step/);
});

for (const { name, factorized } of ATTENTION) test(`MaskGIT (${name} attention): the prompt reaches the tokens (two prompts, same input, different targets are both learned)`, () => {
  const text = createWordTokenizer();
  const m = new MaskGit({ codes: 16, windowSteps: 5, tokensPerStep: 16, vocab: text.words.length, textLen: text.maxLen, dim: 16, heads: 2, mlp: 32, layers: 1, textLayers: 1, labelSmoothing: 0, pooledText: true, factorized });
  m.build();
  const N = m.tokens;
  // Every token masked: only the text can tell the two targets apart.
  const input = tf.fill([2, N], m.maskId, 'int32');
  const target = tf.tensor2d([Array(N).fill(3), Array(N).fill(11)], [2, N], 'int32');
  const mask = tf.ones([2, N]);
  const t = tf.tensor2d([text.encode('the red square jumps'), text.encode('the blue circle shrinks')], [2, text.maxLen], 'int32');
  const opt = tf.train.adam(1e-2);
  for (let i = 0; i < 40; i++) opt.minimize(() => m.loss(input, target, mask, t) as tf.Scalar, false, m.params.list());
  // A model that ignores the text cannot go below ln 2 (half the mass on each target).
  const l = m.loss(input, target, mask, t).dataSync()[0];
  assert.ok(l < 0.3, `loss ${l}`);
  assert.ok(m.params.vars.has('text/to_tokens/kernel'));
});

test('story mode produces exactly the requested frames for any prompt count, and a GIF', () => {
  const tok = new CViViT(TINY);
  tok.build();
  const gen = { model: tinyGenerator(true), text: createWordTokenizer(), contextSteps: 2 };
  const sampling = { steps: 2, temperature: 1, guidance: 1.5, choiceTemperature: 4.5, seed: 1 };
  const v = generateStory(tok, gen, ['a red square moves right', 'the red square jumps', 'the red square shrinks'], [5, 11, 1], sampling);
  assert.equal(v.t, 17);
  assert.equal(v.data.length, 17 * 32 * 32 * 3);
  const again = generateStory(tok, gen, ['a red square moves right', 'the red square jumps', 'the red square shrinks'], [5, 11, 1], sampling);
  assert.deepEqual(again.data, v.data, 'same seed, same story');
  const gif = encodeGif(v, { scale: 2 });
  assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
  assert.throws(() => generateStory(tok, gen, ['a red square jumps'], [4, 4], sampling), /prompts/);
});

test('foreground weights mark exactly the object pixels, and unit weights give the plain MSE', () => {
  const story = sampleStory(createRng(5), 's', { split: 'train', segments: 1 });
  const v = renderStory(story);
  const c = clip(v, 0, 3);
  const w = foregroundWeights([c], 3, 32, 4).dataSync();
  const counts = new Map<string, number>();
  for (let p = 0; p < 32 * 32; p++) counts.set(c.subarray(p * 3, p * 3 + 3).join(), (counts.get(c.subarray(p * 3, p * 3 + 3).join()) ?? 0) + 1);
  const bg = [...counts].sort((a, b) => b[1] - a[1])[0][0].split(',').map(Number);
  let objects = 0;
  for (let p = 0; p < w.length; p++) {
    const isBg = Math.abs(c[p * 3] - bg[0]) + Math.abs(c[p * 3 + 1] - bg[1]) + Math.abs(c[p * 3 + 2] - bg[2]) <= 24;
    assert.equal(w[p], isBg ? 1 : 4);
    if (!isBg) objects++;
  }
  // Objects cover some but not most of the frame.
  assert.ok(objects > 0 && objects < w.length / 2, `${objects} object pixels`);
  const tok = new CViViT(TINY);
  tok.build();
  const x = tf.tensor(Float32Array.from(c, (b) => b / 127.5 - 1), [1, 3, 32, 32, 3]);
  const plain = tok.loss(x).recon.dataSync()[0];
  const unit = tok.loss(x, tf.ones([1, 3, 32, 32, 1])).recon.dataSync()[0];
  assert.ok(Math.abs(plain - unit) < 1e-6 * Math.max(1, plain), `${plain} vs ${unit}`);
});

test('held-out evaluation scores every system on every segment, with the ground truth as its own reference', () => {
  const tok = new CViViT(TINY);
  tok.build();
  const gen = { model: tinyGenerator(), text: createWordTokenizer(), contextSteps: 2 };
  const rng = createRng(9);
  const stories = [0, 1].map((i) => {
    const story = sampleStory(rng, `t${i}`, { split: 'test', segments: 2 });
    return { story, video: renderStory(story) };
  });
  const r = evaluateStories(tok, gen, buildJudge(), stories, { steps: 2, temperature: 1, guidance: 1.5, choiceTemperature: 4.5, seed: 1 });
  assert.equal(r.stories, 2);
  assert.equal(r.segments, 4);
  assert.deepEqual(Object.keys(r.systems).sort(), [...SYSTEMS].sort());
  const scored = stories.reduce((n, { video }) => n + video.t - COND_FRAMES, 0);
  for (const sys of SYSTEMS) {
    const s = r.systems[sys];
    for (const figure of FIGURES) {
      const e = s[figure];
      // No PSNR of the truth against itself; a measure no segment calls for (say, no move here) has no value.
      if ((figure === 'psnr' && sys === 'ground truth') || (figure !== 'frechet' && e.n === 0)) assert.ok(Number.isNaN(e.value), `${sys} ${figure}`);
      else assert.ok(e.low <= e.high && Number.isFinite(e.value), `${sys} ${figure}: ${JSON.stringify(e)}`);
    }
    for (const a of [s.action, s.shape, s.colour]) assert.ok(a.value >= 0 && a.value <= 1 && a.low <= a.value && a.value <= a.high && a.n === 4);
    assert.equal(s.visible.n, scored, 'object visible counts every scored frame');
    // Rounding can leave a distance of zero a hair below it, as in the reference code.
    assert.ok(s.frechet.value > -1e-5, `${sys} frechet ${s.frechet.value}`);
    assert.equal(r.samples[0].videos[sys].t, stories[0].video.t, sys);
  }
  assert.ok(Math.abs(r.systems['ground truth'].frechet.value) < 1e-5);
  assert.ok(Number.isNaN(r.systems['ground truth'].psnr.value));
  // The truth shows an object in nearly every frame (an appear or disappear segment hides it for a few).
  assert.ok(r.systems['ground truth'].visible.value >= 0.9, `${r.systems['ground truth'].visible.value}`);
  assert.equal(r.comparisons.length, 2 * FIGURES.length);
  for (const c of r.comparisons) assert.equal(c.significant, c.low > 0 || c.high < 0, JSON.stringify(c));
  // An untrained tokenizer cannot reconstruct: its PSNR is finite and low.
  assert.ok(Number.isFinite(r.reconstructionPsnr) && r.reconstructionPsnr < 30);
  assert.ok(Number.isFinite(r.systems.reconstruction.psnr.value));
  // The report names the decoding settings its generated row used.
  assert.match(scoresMarkdown(r), /Sampling: 2 decoding steps, temperature 1, guidance 1\.5, choice temperature 4\.5, seed 1\./);
});

test('a tokenizer alone is scored as the full evaluation scores its reconstruction, with what it loses against the truth', () => {
  const tok = new CViViT(TINY);
  tok.build();
  const gen = { model: tinyGenerator(), text: createWordTokenizer(), contextSteps: 2 };
  const rng = createRng(9);
  const stories = [0, 1, 2].map((i) => {
    const story = sampleStory(rng, `t${i}`, { split: 'test', segments: 2 });
    return { story, video: renderStory(story) };
  });
  const judgeModel = buildJudge();
  const full = evaluateStories(tok, gen, judgeModel, stories, { steps: 2, temperature: 1, guidance: 1.5, choiceTemperature: 4.5, seed: 1 });
  const alone = evaluateTokenizer(tok, judgeModel, stories);
  assert.deepEqual(alone.rows, ['ground truth', 'reconstruction']);
  assert.deepEqual(Object.keys(alone.systems).sort(), ['ground truth', 'reconstruction']);
  assert.equal(alone.segments, full.segments);
  assert.equal(alone.reconstructionPsnr, full.reconstructionPsnr);
  assert.equal(alone.sampling, null);
  assert.equal(alone.secondsPerFrame, null);
  // Same segments, same judge, same bootstrap resamples: every figure and interval is the full evaluation's.
  for (const sys of alone.rows) {
    for (const figure of FIGURES) assert.deepEqual(alone.systems[sys][figure], full.systems[sys][figure], `${sys} ${figure}`);
  }
  assert.deepEqual(alone.comparisons.map((c) => `${c.system} - ${c.against}`), FIGURES.map(() => 'reconstruction - ground truth'));
  for (const c of alone.comparisons.filter((x) => x.figure !== 'frechet' && x.figure !== 'psnr')) {
    const d = alone.systems.reconstruction[c.figure].value - alone.systems['ground truth'][c.figure].value;
    if (Number.isNaN(d)) assert.ok(Number.isNaN(c.difference), c.figure);
    else assert.ok(Math.abs(c.difference - d) < 1e-12 && c.significant === (c.low > 0 || c.high < 0), JSON.stringify(c));
  }
  const md = scoresMarkdown(alone);
  assert.match(md, /The tokenizer alone: no generator\./);
  assert.doesNotMatch(md, /Sampling:|generated|baseline/);
  assert.match(md, /\| figure \| reconstruction - ground truth \|/);
});

test('the shipped checkpoints load, speak the same tokens, and generate a story', async () => {
  const dir = path.join(projectRoot(), 'models', 'video');
  const tok = await loadTokenizer(path.join(dir, 'tokenizer'));
  const gen = await loadGenerator(path.join(dir, 'generator'));
  assert.equal(gen.model.cfg.codes, tok.cfg.codebook);
  assert.equal(gen.model.cfg.tokensPerStep, tok.patchesPerStep);
  const v = generateStory(tok, gen, ['a red square moves right', 'the red square jumps'], [3, 2], { ...DEFAULT_SAMPLING, steps: 2, seed: 1 });
  assert.equal(v.t, 5);
  // Not a blank canvas: a trained generator draws a background and at least one object colour.
  const colours = new Set<number>();
  for (let p = 0; p < 32 * 32; p++) colours.add((v.data[p * 3] >> 5) * 64 + (v.data[p * 3 + 1] >> 5) * 8 + (v.data[p * 3 + 2] >> 5));
  assert.ok(colours.size >= 2, `${colours.size} distinct colours in the first frame`);
});

test('kiln story takes the shared sampling flags, writes a GIF, and refuses bad flags and a tokenizer of other tokens in one line', async () => {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const dir = tempDir('kiln-story-');
  const out = path.join(dir, 'story.gif');
  const kiln = (args: string[]) => spawnSync(process.execPath, [cli, 'story', ...args], { encoding: 'utf8' });
  const ok = kiln(['a red square jumps', 'the red square moves left', '--frames', '3,2', '--steps', '2', '--temperature', '0.5', '--guidance', '2', '--choice-temperature', '0', '--seed', '4', '--out', out]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote 5 frames \(3\+2\)/);
  assert.equal(fs.readFileSync(out).subarray(0, 6).toString('latin1'), 'GIF89a');
  for (const [flags, named] of [[['--choice-temperature', '-1'], '--choice-temperature'], [['--frames', '3,2,1'], '--frames'], [['--temperature', 'hot'], '--temperature']] as const) {
    const bad = kiln(['a red square jumps', 'the red square jumps', ...flags, '--out', out]);
    assert.equal(bad.status, 2, `${flags.join(' ')}: ${bad.stderr}`);
    const lines = bad.stderr.trim().split('\n');
    assert.equal(lines.length, 1, bad.stderr);
    assert.ok(lines[0].includes(named), lines[0]);
  }
  // A tokenizer the shipped generator was not trained with (another number of codebooks) is refused.
  const other = new CViViT({ ...DEFAULT_TOKENIZER, groups: 2 });
  other.build();
  const tokDir = path.join(dir, 'tokenizer');
  await saveParams(tokDir, other.params, { format: 'kiln-cvivit', config: other.cfg });
  const mismatch = kiln(['a red square jumps', '--tokenizer', tokDir, '--out', out]);
  assert.equal(mismatch.status, 2, mismatch.stderr);
  assert.match(mismatch.stderr.trim(), /^kiln: the generator speaks other tokens \(1024 codes, 64 tokens per step\) than the tokenizer \(1024 codes x 2 groups, 64 tokens per step\)[^\n]*$/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('kiln video eval --no-generator scores a tokenizer no generator speaks yet: two rows, what it loses, a two-panel gallery', async () => {
  const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const dir = tempDir('kiln-eval-tok-');
  const kiln = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const data = kiln(['data', 'stories', '--out', path.join(dir, 'data'), '--count', '5', '--seed', '3', '--test-fraction', '0.4']);
  assert.equal(data.status, 0, data.stderr);
  const tok = new CViViT({ ...DEFAULT_TOKENIZER, groups: 2 });
  tok.build();
  await saveParams(path.join(dir, 'tokenizer'), tok.params, { format: 'kiln-cvivit', config: tok.cfg });
  const out = path.join(dir, 'report');
  const r = kiln(['video', 'eval', '--data', path.join(dir, 'data'), '--tokenizer', path.join(dir, 'tokenizer'), '--no-generator', '--limit', '2', '--gallery', '1', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /The tokenizer alone: no generator\./);
  const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as { rows: string[]; stories: number; compared: string[][]; sampling: unknown };
  assert.deepEqual(metrics.rows, ['ground truth', 'reconstruction']);
  assert.deepEqual(metrics.compared, [['reconstruction', 'ground truth']]);
  assert.equal(metrics.stories, 2);
  assert.equal(metrics.sampling, null);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.doesNotMatch(md, /\| (generated|baseline) \|/);
  const gifs = fs.readdirSync(path.join(out, 'gifs'));
  assert.equal(gifs.length, 1);
  // Two 32-px panels and the 2-px gap between them, at scale 4 (the GIF's logical screen width, bytes 6-7).
  assert.equal(fs.readFileSync(path.join(out, 'gifs', gifs[0])).readUInt16LE(6), (2 * 32 + 2) * 4);
  fs.rmSync(dir, { recursive: true, force: true });
});
