/**
 * Trains the C-ViViT tokenizer on random clips of training stories. Resumable: the checkpoint
 * folder holds the weights (model.json + weights.bin) and a state/ folder with the step count,
 * code-usage statistics and Adam moments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { check, createProgress, createRng, type Rng } from '../core/index.js';
import { mean } from '../math/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { Adam, trainSteps } from '../train/index.js';
import { clip, clipBatch, foregroundWeights } from './clips.js';
import { CViViT, DEFAULT_TOKENIZER, type CodeCorruption, type TokenizerConfig } from './cvivit.js';
import { assignParams, loadOptimizer, readSaved, saveOptimizer, saveParams } from './layers.js';
import type { LoadedStory } from './dataset.js';

export const TOKENIZER_FORMAT = 'kiln-cvivit';

/**
 * Settings of `trainTokenizer`.
 *
 * @inline
 */
export interface TokenizerTrainOptions {
  checkpoint: string;
  steps: number;
  batch: number;
  clipFrames: number;
  lr: number;
  seed: number;
  saveEvery: number;
  /** Restart codes whose usage share fell below this fraction of uniform. */
  deadThreshold: number;
  /** Reconstruction weight of object pixels relative to background pixels (1 = plain MSE). */
  foregroundWeight: number;
  /** Weight of the edge loss (error of the pixel differences; 0 = none). */
  edgeWeight?: number;
  /**
   * A trained tokenizer to start from, training only its decoder: the encoder and codebook stay
   * frozen (no dead-code restarts), so every video keeps its codes and a generator trained on that
   * tokenizer still works with the new decoder. Only read when the checkpoint holds no state yet.
   */
  decoderFrom?: string;
  /**
   * Decoder-only runs: the share of patches whose code is swapped, each step, for the code at a
   * random position of the batch (mostly background, sometimes another object's part) before
   * decoding, while the target stays the true clip; 0 = none. A generator's tokens are partly wrong
   * in this way, and a decoder that learned to draw through such errors renders its objects whole.
   */
  codeNoise?: number;
  config?: Partial<TokenizerConfig>;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** A step's clips; the loss keeps the chosen codes and encoder outputs in it for the usage statistics. */
interface TokenizerBatch {
  x: tf.Tensor;
  w?: tf.Tensor;
  corrupt?: CodeCorruption;
  ids?: tf.Tensor;
  z?: tf.Tensor;
}

interface TokenizerState {
  step: number;
  /** Set when only the decoder trains (see `decoderFrom`); a resumed run keeps it. */
  decoderOnly?: boolean;
  rng: number;
  usage: number[];
  seconds: number;
}

/** Loads a C-ViViT tokenizer saved by `trainTokenizer` (Kiln ships one in models/video/tokenizer). */
export async function loadTokenizer(dir: string): Promise<CViViT> {
  await ensureBackend();
  const saved = readSaved<TokenizerConfig>(dir, TOKENIZER_FORMAT);
  const model = new CViViT(saved.config);
  model.build();
  assignParams(model.params, saved.weights, dir);
  return model;
}

/**
 * The trained tokenizer at `dir` to train the decoder of, rebuilt with `decoderSpatialLayers` when
 * given: the saved weights fill every variable they name, added decoder layers start fresh.
 */
async function decoderStart(dir: string, decoderSpatialLayers?: number): Promise<CViViT> {
  if (decoderSpatialLayers === undefined) return loadTokenizer(dir);
  await ensureBackend();
  const saved = readSaved<TokenizerConfig>(dir, TOKENIZER_FORMAT);
  const model = new CViViT({ ...saved.config, decoderSpatialLayers });
  model.build();
  for (const [name, v] of model.params.vars) {
    const w = saved.weights[name];
    if (w && w.shape.join(',') === v.shape.join(',')) v.assign(w);
  }
  for (const w of Object.values(saved.weights)) w.dispose();
  return model;
}

/** Swaps about `share` of the [B, S, P] patches' codes for those at uniformly drawn flat positions of the batch. */
function codeCorruption(rng: Rng, shape: [number, number, number], share: number): CodeCorruption {
  const n = shape[0] * shape[1] * shape[2];
  const mask = new Uint8Array(n);
  const from = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    mask[i] = rng.next() < share ? 1 : 0;
    from[i] = mask[i] ? rng.int(n) : i;
  }
  return { mask: tf.tensor(mask, shape, 'bool'), from: tf.tensor(from, shape, 'int32') };
}

/** Codebook perplexity (effective number of codes used) from usage counts. */
export function perplexity(usage: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < usage.length; i++) total += usage[i];
  let h = 0;
  for (let i = 0; i < usage.length; i++) {
    const p = usage[i] / (total || 1);
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/**
 * Trains the C-ViViT tokenizer on clips of `stories`, or resumes it from `opts.checkpoint`, saving the
 * weights and optimizer state there every `saveEvery` steps. Returns the model, its speed, the recent
 * reconstruction loss and the codebook perplexity (effective number of codes in use).
 */
export async function trainTokenizer(stories: LoadedStory[], opts: TokenizerTrainOptions): Promise<{ model: CViViT; stepsPerSecond: number; recon: number; perplexity: number }> {
  const stateDir = path.join(opts.checkpoint, 'state');
  const resuming = fs.existsSync(path.join(stateDir, 'state.json')) && fs.existsSync(path.join(opts.checkpoint, 'model.json'));
  const model = resuming ? await loadTokenizer(opts.checkpoint)
    : opts.decoderFrom !== undefined ? await decoderStart(opts.decoderFrom, opts.config?.decoderSpatialLayers)
      : new CViViT({ ...DEFAULT_TOKENIZER, ...opts.config });
  if (!resuming && opts.decoderFrom === undefined) model.build();
  const cfg = model.cfg;
  const optimizer = new Adam(opts.lr, 0.9, 0.99);
  const state: TokenizerState = resuming
    ? (JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as TokenizerState)
    : { step: 0, decoderOnly: opts.decoderFrom !== undefined, rng: createRng(opts.seed).state(), usage: Array(cfg.codebook * model.groups).fill(1), seconds: 0 };
  if (resuming) await loadOptimizer(stateDir, optimizer);
  const rng = createRng(0);
  rng.restore(state.rng);
  const usage = Float64Array.from(state.usage);
  const noise = opts.codeNoise ?? 0;
  check(Number.isFinite(noise) && noise >= 0 && noise < 1, `code noise must be in [0, 1), got ${noise}`);
  check(noise === 0 || state.decoderOnly === true, 'code noise trains a decoder on frozen codes: give --decoder-from (or resume such a run)');
  const vars = state.decoderOnly ? [...model.params.vars].filter(([name]) => name.startsWith('dec/')).map(([, v]) => v) : model.params.list();
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  if (resuming) log(`resuming tokenizer at step ${state.step}/${opts.steps}`);
  const progress = createProgress({ label: 'train-tokenizer', total: opts.steps, quiet: opts.quiet });
  const recent: number[] = [];
  const started = Date.now();
  const startStep = state.step;
  const save = async () => {
    state.rng = rng.state();
    state.usage = Array.from(usage);
    const elapsed = state.seconds + (Date.now() - started) / 1000;
    await saveParams(opts.checkpoint, model.params, { format: TOKENIZER_FORMAT, config: cfg, extra: { step: state.step, perplexity: groupPerplexity(usage, cfg.codebook), seconds: elapsed, foregroundWeight: opts.foregroundWeight, edgeWeight: opts.edgeWeight ?? 0, codeNoise: noise, decoderOnly: state.decoderOnly ?? false } });
    await saveOptimizer(stateDir, optimizer);
    fs.writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ ...state, seconds: elapsed }));
  };
  await trainSteps<TokenizerBatch>({
    optimizer, variables: vars, from: state.step, to: opts.steps,
    batch: () => {
      const clips: Uint8Array[] = [];
      for (let b = 0; b < opts.batch; b++) {
        const { video } = rng.pick(stories);
        clips.push(clip(video, rng.int(Math.max(1, video.t - opts.clipFrames + 1)), opts.clipFrames));
      }
      const x = clipBatch(clips, opts.clipFrames, cfg.size);
      const w = opts.foregroundWeight === 1 ? undefined : foregroundWeights(clips, opts.clipFrames, cfg.size, opts.foregroundWeight);
      return { x, w, corrupt: noise > 0 ? codeCorruption(rng, [opts.batch, model.steps(opts.clipFrames), model.patchesPerStep], noise) : undefined };
    },
    loss: (batch) => {
      const out = model.loss(batch.x, batch.w, opts.edgeWeight, batch.corrupt);
      batch.ids = tf.keep(out.ids);
      batch.z = tf.keep(out.z);
      recent.push(out.recon.dataSync()[0]);
      return out.loss as tf.Scalar;
    },
    release: ({ x, w, ids, z, corrupt }) => tf.dispose([x, ...[w, ids, z, corrupt?.mask, corrupt?.from].filter((t): t is tf.Tensor => t !== undefined)]),
    onStep: async ({ step, batch }) => {
      const idv = (await batch.ids!.data()) as Int32Array;
      // Usage is an exponential moving average of code counts: the tracking behind dead-code restarts.
      // Usage holds each group's codebook in turn: group g's code k at g * codebook + k.
      const K = cfg.codebook;
      const counts = new Float64Array(usage.length);
      for (const i of idv) for (let g = 0, rest = i; g < model.groups; g++, rest = Math.floor(rest / K)) counts[g * K + (rest % K)]++;
      for (let k = 0; k < usage.length; k++) usage[k] = 0.95 * usage[k] + 0.05 * counts[k];
      state.step = step + 1;
      if (state.step % 25 === 0 && !state.decoderOnly) restartDeadCodes(model, usage, batch.z!, idv.length, opts.deadThreshold, rng);
      if (recent.length > 50) recent.shift();
      progress.update(state.step, `recon ${mean(recent).toFixed(4)} ppl ${groupPerplexity(usage, cfg.codebook).toFixed(1)}`);
    },
    checkpoint: { every: opts.saveEvery, save },
  });
  if (state.step === startStep) await save();
  const seconds = (Date.now() - started) / 1000;
  progress.done(`recon ${mean(recent).toFixed(4)}`);
  return { model, stepsPerSecond: (state.step - startStep) / Math.max(seconds, 1e-9), recon: mean(recent), perplexity: groupPerplexity(usage, cfg.codebook) };
}

/** Mean codebook perplexity over the groups of a product quantiser (usage: each group's K counts in turn). */
function groupPerplexity(usage: Float64Array, K: number): number {
  const groups = usage.length / K;
  let sum = 0;
  for (let g = 0; g < groups; g++) sum += perplexity(usage.subarray(g * K, (g + 1) * K));
  return sum / groups;
}

/** Moves codes the batch stream no longer picks onto random current encoder outputs, in every group's codebook. */
function restartDeadCodes(model: CViViT, usage: Float64Array, z: tf.Tensor, n: number, threshold: number, rng: ReturnType<typeof createRng>): number {
  const { codebook: K, codeDim: C } = model.cfg;
  const G = model.groups;
  const expected = n / K;
  const flat = z.reshape([-1, C * G]);
  const zs = flat.dataSync();
  flat.dispose();
  const rows = zs.length / (C * G);
  let restarted = 0;
  for (let g = 0; g < G; g++) {
    const dead: number[] = [];
    for (let k = 0; k < K; k++) if (usage[g * K + k] < threshold * expected) dead.push(k);
    if (dead.length === 0) continue;
    const cb = model.params.vars.get(CViViT.codebookName(g))!;
    const values = cb.dataSync().slice();
    for (const k of dead) {
      const r = rng.int(rows);
      for (let c = 0; c < C; c++) values[k * C + c] = zs[r * C * G + g * C + c] + 0.01 * rng.normal();
      usage[g * K + k] = expected;
    }
    tf.tidy(() => cb.assign(tf.tensor(values, cb.shape)));
    restarted += dead.length;
  }
  return restarted;
}
