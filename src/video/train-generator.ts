/**
 * Trains the masked video-token transformer on windows of training stories, tokenized on the fly
 * by a frozen C-ViViT. Two kinds of window: a story's opening (nothing known) and a continuation
 * (the first `contextSteps` time steps known, the rest to generate under the prompt of the segment
 * the new frames belong to), which is exactly how story mode uses the model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { check, createProgress, createRng, type Rng } from '../core/index.js';
import { mean } from '../math/index.js';
import { ensureBackend, tf } from '../backend/index.js';
import { Adam, createSchedule, trainSteps } from '../train/index.js';
import { clip, clipBatch } from './clips.js';
import type { CViViT } from './cvivit.js';
import type { LoadedStory } from './dataset.js';
import { assignParams, loadOptimizer, readSaved, saveOptimizer, saveParams } from './layers.js';
import { checkSameTokens, cosineSchedule, MaskGit, type GeneratorConfig } from './maskgit.js';
import { createWordTokenizer, type WordTokenizer } from './text.js';
import { backgroundText, sampleStill, segmentRanges, type Story } from './world.js';

export const GENERATOR_FORMAT = 'kiln-maskgit';

/**
 * Settings of `trainGenerator`.
 *
 * @inline
 */
export interface GeneratorTrainOptions {
  checkpoint: string;
  steps: number;
  batch: number;
  lr: number;
  /**
   * Learning-rate schedule by name (the `schedules` registry of the train capability; none: `lr`
   * throughout). It spans this run's own steps: from step 0, or for a warm start (`initFrom`) from the
   * trained generator's step to `steps`, so a continuation can decay to `minLr` over the steps it adds.
   */
  schedule?: string;
  /** Floor of the decaying schedules (default 0). */
  minLr?: number;
  /** Steps of linear warm-up of the warmup schedules (default 0). */
  warmupSteps?: number;
  seed: number;
  saveEvery: number;
  /** Share of examples trained with the null prompt (for classifier-free guidance). */
  textDrop: number;
  /**
   * Time steps known in continuation windows (default 2; with `initFrom`, the trained generator's
   * unless given: story mode gives the model as many known steps as it was trained with).
   */
  contextSteps?: number;
  /**
   * Loss weight of a masked token whose code differs from the code at the same place one time step
   * earlier (1 = plain masked-token loss). Most tokens are background that never changes; without
   * this the loss barely notices whether the object moves, and a model that copies the last frame
   * scores almost as well as one that follows the prompt.
   */
  changeWeight: number;
  /**
   * What text a video window is trained with: 'segments' (default), the prompt of the segment its
   * new frames belong to (story-like data, annotated over time); 'single', one caption per video
   * (one of its segment prompts, fixed per story) for every window of it, as in video datasets
   * captioned once (StoryBench's comparison).
   */
  captions?: Captions;
  /**
   * Share of examples that are captioned still images instead of video windows (Phenaki's joint
   * image-text training; default 0). An image is the first time step of an opening window; the
   * later steps stay masked and carry no loss.
   */
  imageShare?: number;
  config?: Partial<GeneratorConfig>;
  /**
   * Held-out scores recorded on the training curve every `every` steps (a multiple of `saveEvery`):
   * `score` gets the model as trained so far and returns named figures (for example judge accuracies).
   */
  monitor?: { every: number; score: (gen: LoadedGenerator) => Record<string, number> };
  /**
   * Warm start (new runs only): a trained generator whose weights and sizes seed this one; the run
   * continues its step count and training curve (`steps` is the total).
   */
  initFrom?: string;
  /**
   * With `initFrom`: transformer layers stacked on top of the trained ones (default 0), each starting
   * as the identity, so the deeper model begins where the trained one stopped.
   */
  addLayers?: number;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface LoadedGenerator {
  model: MaskGit;
  text: WordTokenizer;
  contextSteps: number;
  /** Its training curve, as saved (empty for a checkpoint saved before curves were kept). */
  curve?: CurvePoint[];
}

/** One point of a training curve: the recent training loss and any held-out scores at that step. */
export interface CurvePoint {
  step: number;
  loss: number;
  scores?: Record<string, number>;
}

/**
 * Loads a MaskGIT generator and its word tokenizer saved by `trainGenerator` (Kiln ships one in
 * models/video/generator).
 */
export async function loadGenerator(dir: string): Promise<LoadedGenerator> {
  await ensureBackend();
  const saved = readSaved<GeneratorConfig>(dir, GENERATOR_FORMAT);
  const extra = saved.extra as { words: string[]; contextSteps: number; curve?: CurvePoint[] };
  const model = new MaskGit(saved.config);
  model.build();
  assignParams(model.params, saved.weights, dir);
  return { model, text: createWordTokenizer(extra.words.slice(3), saved.config.textLen), contextSteps: extra.contextSteps, curve: extra.curve ?? [] };
}

/**
 * Copies a trained generator's weights into a new one with the pooled-text path switched on and
 * `addLayers` more transformer layers on top. The pooled-text projection the source lacks starts at
 * zero; an added layer starts with fresh weights except its two output projections (attention and
 * MLP), which start at zero, so it adds nothing to the residual stream (progressive stacking). The
 * new model begins by computing exactly what the source did and learns the extra parts from there.
 * Also returns the source's step count, time and curve, which the new run continues (a saved
 * generator keeps no optimizer state, so Adam starts afresh).
 */
function warmStart(from: string, addLayers = 0): { model: MaskGit; contextSteps: number; step: number; seconds: number; curve: CurvePoint[] } {
  const saved = readSaved<GeneratorConfig>(from, GENERATOR_FORMAT);
  const trained = saved.config.layers;
  const model = new MaskGit({ ...saved.config, pooledText: true, layers: trained + addLayers });
  model.build();
  for (const [name, v] of model.params.vars) {
    const w = saved.weights[name];
    const layer = /^main\/(?:spatial|temporal|block)(\d+)\/(.+)$/.exec(name);
    if (w && w.shape.join(',') === v.shape.join(',')) v.assign(w);
    else if (layer && Number(layer[1]) >= trained) {
      if (/^(attn\/out|fc2)\//.test(layer[2])) v.assign(tf.zerosLike(v));
    } else v.assign(tf.zerosLike(v));
  }
  for (const w of Object.values(saved.weights)) w.dispose();
  const extra = saved.extra as { contextSteps: number; step?: number; seconds?: number; curve?: CurvePoint[] };
  return { model, contextSteps: extra.contextSteps, step: extra.step ?? 0, seconds: extra.seconds ?? 0, curve: extra.curve ?? [] };
}

/**
 * One training window: its clip, prompt, background and how many time steps are given.
 *
 * @inline
 */
interface Example {
  clip: Uint8Array;
  prompt: string;
  background: string | null;
  knownSteps: number;
  /** Time steps trained (the window's, or 1 for a still image). */
  targetSteps: number;
}

/** How video windows are captioned in training (see `GeneratorTrainOptions.captions`). */
export type Captions = 'segments' | 'single';

/** The one caption a story gets as single-caption data: one of its segment prompts, fixed by its id. */
export function singleCaption(story: Story): string {
  // FNV-1a of the id: every run and seed picks the same caption for the same story.
  let h = 0x811c9dc5;
  for (const c of story.id) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return story.segments[h % story.segments.length].prompt;
}

/**
 * One training window: a story opening (30%) or a continuation inside a random segment. Half the
 * continuations start as early in the segment as the context allows (at the boundary, as story mode
 * does at every new prompt); the rest start anywhere that keeps all the generated frames inside the
 * segment, so the prompt always describes the frames it is trained to produce.
 */
export function sampleExample(rng: Rng, stories: LoadedStory[], tok: CViViT, windowSteps: number, contextSteps: number, captions: Captions = 'segments'): Example {
  const { story, video } = rng.pick(stories);
  const windowFrames = tok.framesFor(windowSteps);
  const ctxFrames = tok.framesFor(contextSteps);
  const background = rng.next() < 0.5 ? backgroundText(story.background) : null;
  const caption = (k: number) => (captions === 'single' ? singleCaption(story) : story.segments[k].prompt);
  if (rng.next() < 0.3) return { clip: clip(video, 0, windowFrames), prompt: caption(0), background, knownSteps: 0, targetSteps: windowSteps };
  const ranges = segmentRanges(story);
  const k = rng.int(ranges.length);
  const [start, end] = ranges[k];
  const lo = Math.max(start, ctxFrames);
  const hi = Math.max(lo, end - (windowFrames - ctxFrames));
  const first = rng.next() < 0.5 ? lo : lo + rng.int(hi - lo + 1);
  return { clip: clip(video, first - ctxFrames, windowFrames), prompt: caption(k), background, knownSteps: contextSteps, targetSteps: windowSteps };
}

/** One still-image example: a captioned still as the first time step of an opening window. */
export function sampleImageExample(rng: Rng, tok: CViViT, windowSteps: number): Example {
  const still = sampleStill(rng);
  const background = rng.next() < 0.5 ? backgroundText(still.background) : null;
  return { clip: clip(still.frame, 0, tok.framesFor(windowSteps)), prompt: still.caption, background, knownSteps: 0, targetSteps: 1 };
}

/**
 * Masks one window of code ids for training: a cosine-schedule share of the tokens after the
 * `knownSteps` given time steps become `maskId`. Returns the input and each position's loss
 * weight: 0 where not masked, `changeWeight` where the code differs from the one at the same place
 * a time step earlier, 1 elsewhere. Steps from `targetSteps` on (a still image's) are all masked
 * with weight 0: the model learns nothing about them and sees no codes there.
 */
export function maskWindow(rng: Rng, target: Int32Array, knownSteps: number, tokensPerStep: number, maskId: number, changeWeight: number, targetSteps = target.length / tokensPerStep): { input: Int32Array; weights: Float32Array } {
  const P = tokensPerStep;
  const N = targetSteps * P;
  const input = Int32Array.from(target);
  input.fill(maskId, N);
  const weights = new Float32Array(target.length);
  const first = knownSteps * P;
  const free = N - first;
  const count = Math.max(1, Math.ceil(cosineSchedule(rng.next()) * free));
  const order = rng.shuffle(Array.from({ length: free }, (_, i) => first + i));
  for (const pos of order.slice(0, count)) {
    input[pos] = maskId;
    weights[pos] = pos >= P && target[pos] !== target[pos - P] ? changeWeight : 1;
  }
  return { input, weights };
}

/**
 * Trains the MaskGIT generator on `stories` encoded by the tokenizer `tok`, or resumes it from
 * `opts.checkpoint`, saving the weights and optimizer state there every `saveEvery` steps. Returns the
 * model, its speed and the recent masked-token loss.
 */
export async function trainGenerator(stories: LoadedStory[], tok: CViViT, opts: GeneratorTrainOptions): Promise<{ model: MaskGit; stepsPerSecond: number; loss: number }> {
  const stateDir = path.join(opts.checkpoint, 'state');
  const resuming = fs.existsSync(path.join(stateDir, 'state.json')) && fs.existsSync(path.join(opts.checkpoint, 'model.json'));
  const text = createWordTokenizer();
  let model: MaskGit;
  let contextSteps = opts.contextSteps ?? 2;
  let warm: ReturnType<typeof warmStart> | null = null;
  if (resuming) {
    const loaded = await loadGenerator(opts.checkpoint);
    model = loaded.model;
    contextSteps = loaded.contextSteps;
    check(opts.contextSteps === undefined || opts.contextSteps === contextSteps, `the generator in ${opts.checkpoint} trains with ${contextSteps} context steps: resume it with that many or without the option (got ${opts.contextSteps})`);
  } else if (opts.initFrom) {
    check(opts.addLayers === undefined || (Number.isInteger(opts.addLayers) && opts.addLayers >= 0), `layers to add must be a whole number >= 0 (got ${opts.addLayers})`);
    warm = warmStart(opts.initFrom, opts.addLayers);
    model = warm.model;
    contextSteps = opts.contextSteps ?? warm.contextSteps;
    check(warm.step < opts.steps, `the generator in ${opts.initFrom} has trained ${warm.step} steps already: ask for more than that (--steps counts from its step 0)`);
  } else {
    check(!opts.addLayers, 'adding layers needs a trained generator to add them to (--init-from)');
    model = new MaskGit({
      codes: tok.cfg.codebook, ...(tok.groups > 1 ? { codeGroups: tok.groups } : {}), windowSteps: 5, tokensPerStep: tok.patchesPerStep, vocab: text.words.length, textLen: text.maxLen,
      dim: 96, heads: 2, mlp: 192, layers: 4, textLayers: 2, labelSmoothing: 0.1, pooledText: true, factorized: true, ...opts.config,
    });
    model.build();
  }
  checkSameTokens(tok, model);
  const cfg = model.cfg;
  check(Number.isInteger(contextSteps) && contextSteps >= 1 && contextSteps < cfg.windowSteps, `context steps must be a whole number from 1 to ${cfg.windowSteps - 1}, below the window's ${cfg.windowSteps} steps (got ${contextSteps})`);
  const optimizer = new Adam(opts.lr, 0.9, 0.99);
  const state = resuming
    ? (JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { step: number; rng: number; seconds: number; curve?: CurvePoint[]; from?: number })
    : { step: warm?.step ?? 0, rng: createRng(opts.seed + (warm?.step ?? 0)).state(), seconds: warm?.seconds ?? 0, curve: warm?.curve ?? [], from: warm?.step ?? 0 };
  // The step this run started from (kept in the state, so a resumed run follows the same schedule).
  const runFrom = state.from ?? 0;
  const runSchedule = opts.schedule === undefined ? undefined
    : createSchedule(opts.schedule, { lr: opts.lr, minLr: opts.minLr ?? 0, totalSteps: opts.steps - runFrom, warmupSteps: opts.warmupSteps ?? 0 });
  const curve = state.curve ?? [];
  state.curve = curve;
  check((opts.imageShare ?? 0) >= 0 && (opts.imageShare ?? 0) < 1, `the still-image share must be in [0, 1) (got ${opts.imageShare})`);
  if (opts.monitor) check(opts.monitor.every % opts.saveEvery === 0, `held-out scoring every ${opts.monitor.every} steps must be a multiple of the checkpoint interval ${opts.saveEvery}`);
  if (resuming) await loadOptimizer(stateDir, optimizer);
  const rng = createRng(0);
  rng.restore(state.rng);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  if (resuming) log(`resuming generator at step ${state.step}/${opts.steps}`);
  else if (warm) log(`continuing the generator of ${opts.initFrom} at step ${state.step}/${opts.steps} with a fresh optimizer${opts.addLayers ? `, ${opts.addLayers} layers added on top (${cfg.layers} in all)` : ''}`);
  const vars = model.params.list();
  const progress = createProgress({ label: 'train-generator', total: opts.steps, quiet: opts.quiet });
  const recent: number[] = [];
  const started = Date.now();
  const startStep = state.step;
  const N = model.tokens;
  const P = cfg.tokensPerStep;
  const save = async () => {
    state.rng = rng.state();
    if (recent.length > 0 && curve.at(-1)?.step !== state.step) {
      const point: CurvePoint = { step: state.step, loss: mean(recent) };
      if (opts.monitor && state.step % opts.monitor.every === 0) point.scores = opts.monitor.score({ model, text, contextSteps, curve });
      curve.push(point);
    }
    const seconds = state.seconds + (Date.now() - started) / 1000;
    await saveParams(opts.checkpoint, model.params, { format: GENERATOR_FORMAT, config: cfg, extra: { words: text.words, contextSteps, step: state.step, seconds, curve } });
    await saveOptimizer(stateDir, optimizer);
    fs.writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ ...state, seconds }));
  };
  await trainSteps({
    optimizer, variables: vars, from: state.step, to: opts.steps, schedule: runSchedule && ((step) => runSchedule(step - runFrom)),
    batch: async () => {
      const imageShare = opts.imageShare ?? 0;
      // No draw for the image share when it is 0, so video-only runs sample exactly as before.
      const examples = Array.from({ length: opts.batch }, () => (imageShare > 0 && rng.next() < imageShare
        ? sampleImageExample(rng, tok, cfg.windowSteps)
        : sampleExample(rng, stories, tok, cfg.windowSteps, contextSteps, opts.captions)));
      const x = clipBatch(examples.map((e) => e.clip), tok.framesFor(cfg.windowSteps), tok.cfg.size);
      const targets = tf.tidy(() => tok.encodeLatents(x).ids.reshape([opts.batch, N]));
      x.dispose();
      const target = (await targets.data()) as Int32Array;
      const input = Int32Array.from(target);
      const masked = new Float32Array(opts.batch * N);
      const textIds: number[][] = [];
      examples.forEach((e, b) => {
        const window = maskWindow(rng, target.subarray(b * N, (b + 1) * N), e.knownSteps, P, model.maskId, opts.changeWeight, e.targetSteps);
        input.set(window.input, b * N);
        masked.set(window.weights, b * N);
        textIds.push(rng.next() < opts.textDrop ? text.nullIds() : text.encode(e.prompt, e.background));
      });
      return {
        input: tf.tensor2d(input, [opts.batch, N], 'int32'), targets,
        masked: tf.tensor2d(masked, [opts.batch, N]), text: tf.tensor2d(textIds, [opts.batch, cfg.textLen], 'int32'),
      };
    },
    loss: (b) => model.loss(b.input, b.targets, b.masked, b.text) as tf.Scalar,
    release: (b) => tf.dispose([b.input, b.masked, b.text, b.targets]),
    onStep: ({ step, loss }) => {
      recent.push(loss);
      if (recent.length > 50) recent.shift();
      state.step = step + 1;
      progress.update(state.step, `loss ${mean(recent).toFixed(3)}`);
    },
    checkpoint: { every: opts.saveEvery, save },
  });
  if (state.step === startStep) await save();
  const seconds = (Date.now() - started) / 1000;
  progress.done(`loss ${mean(recent).toFixed(3)}`);
  return { model, stepsPerSecond: (state.step - startStep) / Math.max(seconds, 1e-9), loss: mean(recent) };
}
