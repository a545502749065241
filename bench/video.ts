/**
 * Video story speed: tokenizer and generator training steps per second (shipped model
 * sizes, batch sizes of the documented training commands) and seconds per generated frame in story
 * mode with the shipped checkpoints. Training uses the trainers' optimizer (Kiln's Adam, fused on native).
 * Run: node dist/bench/video.js [--steps 20] [--backend native|wasm|cpu]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRng, projectRoot } from '../src/core/index.js';
import { median } from '../src/math/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import {
  CViViT, DEFAULT_SAMPLING, MaskGit, createWordTokenizer, generateStory, loadGenerator, loadTokenizer, renderStory, sampleStory, clip,
} from '../src/video/index.js';
import { clipBatch } from '../src/video/clips.js';
import { Adam } from '../src/train/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node dist/bench/video.js [--steps n] [--backend native|wasm|cpu]');
  process.exit(0);
}
const steps = Number(values.steps);
const backend = await initBackend(values.backend);
setSeed(1);

/** Median seconds of `n` calls after one warm-up call. */
async function time(n: number, f: () => Promise<void> | void): Promise<number> {
  await f();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push((performance.now() - t) / 1000);
  }
  return median(out);
}

const rng = createRng(1);
const videos = Array.from({ length: 16 }, (_, i) => renderStory(sampleStory(rng, `b${i}`, { split: 'train' })));
// Shipped checkpoints: their configs size the fresh training models, and they generate the story.
const tok = await loadTokenizer(path.join(projectRoot(), 'models', 'video', 'tokenizer'));
const fresh = new CViViT(tok.cfg);
fresh.build();
const tokOpt = new Adam(1e-3, 0.9, 0.99);
const x = clipBatch(videos.slice(0, 8).map((v) => clip(v, 0, 9)), 9, 32);
const tokStep = await time(steps, () => {
  tf.dispose(tokOpt.minimize(() => fresh.loss(x).loss as tf.Scalar, true, fresh.params.list())!);
});

const gen = await loadGenerator(path.join(projectRoot(), 'models', 'video', 'generator'));
const g = new MaskGit(gen.model.cfg);
g.build();
const text = createWordTokenizer();
const B = 12;
const genOpt = new Adam(1e-3, 0.9, 0.99);
const ids = tf.randomUniform([B, g.tokens], 0, g.cfg.codes, 'int32');
const mask = tf.randomUniform([B, g.tokens]).greater(0.5).toFloat();
const tids = tf.tensor2d(Array.from({ length: B }, () => text.encode('a red square moves right')), [B, text.maxLen], 'int32');
const genStep = await time(steps, () => {
  tf.dispose(genOpt.minimize(() => g.loss(ids, ids, mask, tids) as tf.Scalar, true, g.params.list())!);
});

const frames = 32;
const story = await time(3, () => {
  generateStory(tok, gen, ['a red square moves right', 'the red square jumps'], [16, 16], { ...DEFAULT_SAMPLING, seed: 1 });
});
console.log(`backend ${backend}`);
console.log(`| measurement | value |`);
console.log(`|---|---|`);
console.log(`| tokenizer train step (batch 8 x 9 frames, ${fresh.params.count()} params) | ${(1 / tokStep).toFixed(2)} steps/s (${(tokStep * 1000).toFixed(0)} ms) |`);
console.log(`| generator train step (batch ${B} x ${g.tokens} tokens, ${g.params.count()} params) | ${(1 / genStep).toFixed(2)} steps/s (${(genStep * 1000).toFixed(0)} ms) |`);
console.log(`| story generation (2 prompts x 16 frames, ${DEFAULT_SAMPLING.steps} decoding steps, guidance ${DEFAULT_SAMPLING.guidance}) | ${(story / frames).toFixed(3)} s/frame |`);
