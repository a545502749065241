/**
 * The papers' training-data experiments at Kiln's scale. Each experiment compares two training
 * recipes of the same small generator (same tokenizer, sizes, steps and seeds) over several seeds:
 * Phenaki's joint training on still images and videos against videos alone, and StoryBench's
 * story-like data (a prompt per segment) against a single caption per video. Every run is a
 * resumable generator checkpoint scored on held-out stories, so an interrupted experiment resumes
 * where it stopped and runs shared by both experiments are trained once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError, check, checkOutputDir, readJsonFile } from '../core/index.js';
import { setSeed, type tf } from '../backend/index.js';
import { meanCI } from '../math/index.js';
import type { CViViT } from './cvivit.js';
import type { LoadedStory } from './dataset.js';
import { evaluateStories, type Figure } from './evaluate.js';
import type { JudgeInputRange } from './judge.js';
import { PROMPT_FIGURES, PROMPT_LABELS, scorePromptAlone } from './prompt-scores.js';
import { DEFAULT_SAMPLING } from './story.js';
import { loadGenerator, trainGenerator, type Captions } from './train-generator.js';

/**
 * Sizes and budgets shared by every run of the experiments.
 *
 * @inline
 */
export interface VideoExperimentConfig {
  /** Training seeds per recipe (at least 2, for an interval over seeds). */
  seeds: number;
  steps: number;
  batch: number;
  lr: number;
  /** Generator width and transformer layers. */
  dim: number;
  layers: number;
  saveEvery: number;
  /** Share of each batch that is still images in the joint image-video recipe. */
  imageShare: number;
  /** Held-out stories continued from their first frames, per run. */
  evalStories: number;
  /** Single-prompt stories generated from the prompt alone, per run. */
  promptStories: number;
}

/** 3 seeds of a width-64, 2-layer generator for 1500 steps (about 7 minutes a run on 2 cores, native). */
export const VIDEO_EXPERIMENT_DEFAULTS: VideoExperimentConfig = {
  seeds: 3, steps: 1500, batch: 12, lr: 2e-3, dim: 64, layers: 2, saveEvery: 250, imageShare: 0.2, evalStories: 24, promptStories: 24,
};

/** A smoke-test configuration: tiny models and few steps; the figures mean nothing. */
export const VIDEO_EXPERIMENT_QUICK: VideoExperimentConfig = {
  seeds: 2, steps: 20, batch: 4, lr: 2e-3, dim: 16, layers: 1, saveEvery: 10, imageShare: 0.2, evalStories: 2, promptStories: 2,
};

/** What a generator is trained on: how its video windows are captioned and whether stills join the batches. */
export interface Recipe {
  captions: Captions;
  images: boolean;
}

export const RECIPES = {
  videos: { captions: 'segments', images: false },
  'videos+images': { captions: 'segments', images: true },
  'single-caption': { captions: 'single', images: false },
} as const satisfies Record<string, Recipe>;
export type RecipeName = keyof typeof RECIPES;

/** One experiment: a reference arm and a treatment arm; the difference reported is treatment - reference. */
export interface VideoExperiment {
  title: string;
  paper: string;
  claim: string;
  reference: { label: string; recipe: RecipeName };
  treatment: { label: string; recipe: RecipeName };
  /** The figures that test the claim, first in the report. */
  headline: string[];
}

export const VIDEO_EXPERIMENTS = {
  'joint-images': {
    title: 'Joint training on still images and videos against videos alone',
    paper: 'Phenaki (Villegas et al. 2022)',
    claim: 'training on image-text pairs together with video-text pairs improves how well generated frames match the text, at little cost to the videos',
    reference: { label: 'videos only', recipe: 'videos' },
    treatment: { label: 'videos + still images', recipe: 'videos+images' },
    headline: ['prompt: judgeShape', 'prompt: paletteColour', 'prompt: visible', 'continuation: shape', 'continuation: action'],
  },
  'story-data': {
    title: 'Story-like data (a prompt per segment) against a single caption per video',
    paper: 'StoryBench (Bugliarello et al. 2023)',
    claim: 'training on story-like data, each segment with its own prompt, beats training on videos that carry one caption, for story continuation',
    reference: { label: 'single caption per video', recipe: 'single-caption' },
    treatment: { label: 'a prompt per segment', recipe: 'videos' },
    headline: ['continuation: action', 'continuation: motion', 'continuation: size', 'continuation: shape', 'continuation: colour'],
  },
} as const satisfies Record<string, VideoExperiment>;
export type VideoExperimentName = keyof typeof VIDEO_EXPERIMENTS;
export const VIDEO_EXPERIMENT_NAMES = Object.keys(VIDEO_EXPERIMENTS) as VideoExperimentName[];

/** The continuation figures a run records (the generated row of `kiln video eval`). */
const CONTINUATION: Figure[] = ['action', 'shape', 'colour', 'visible', 'motion', 'size', 'paletteColour', 'frechet'];
const CONTINUATION_LABELS: Partial<Record<Figure, string>> = {
  action: 'judge: action', shape: 'judge: shape', colour: 'judge: colour', visible: 'object visible (frames)', motion: 'moves the named way',
  size: 'size changes the named way', paletteColour: 'named colour (pixels)', frechet: 'Frechet distance (judge features, lower is better)',
};

/** Every figure a run records, by key, with its label; shares are in %. */
export const RUN_FIGURES: { key: string; label: string }[] = [
  ...CONTINUATION.map((f) => ({ key: `continuation: ${f}`, label: `continuation, ${CONTINUATION_LABELS[f]}` })),
  ...PROMPT_FIGURES.map((f) => ({ key: `prompt: ${f}`, label: `prompt alone, ${PROMPT_LABELS[f]}` })),
];

/** One trained run's figures (shares in %). */
export interface RunScores {
  recipe: RecipeName;
  seed: number;
  /** The training loss at the last checkpoint (recent steps' mean masked-token loss). */
  loss: number;
  /** Seconds spent scoring the run. */
  seconds: number;
  figures: Record<string, number>;
}

/**
 * Inputs of `runVideoExperiments`.
 *
 * @inline
 */
export interface VideoExperimentInputs {
  names: VideoExperimentName[];
  config: VideoExperimentConfig;
  out: string;
  train: LoadedStory[];
  heldOut: LoadedStory[];
  tok: CViViT;
  judgeModel: tf.LayersModel;
  featureRange?: JudgeInputRange;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** Checks a configuration before any work starts. */
export function checkVideoExperimentConfig(c: VideoExperimentConfig): void {
  const positive = (v: number, name: string) => check(Number.isInteger(v) && v >= 1, `${name} must be a positive integer (got ${v})`);
  check(Number.isInteger(c.seeds) && c.seeds >= 2, `--seeds must be at least 2 for an interval over seeds (got ${c.seeds})`);
  for (const [v, name] of [[c.steps, '--steps'], [c.batch, '--batch'], [c.dim, '--dim'], [c.layers, '--layers'], [c.saveEvery, '--save-every'], [c.evalStories, '--eval-stories'], [c.promptStories, '--prompt-stories']] as const) positive(v, name);
  check(c.dim % 2 === 0, `--dim must be even (two attention heads; got ${c.dim})`);
  check(Number.isFinite(c.lr) && c.lr > 0, `--lr must be above 0 (got ${c.lr})`);
  check(c.imageShare > 0 && c.imageShare < 1, `--image-share must be between 0 and 1 (got ${c.imageShare})`);
}

/**
 * The configuration of the runs already in `out`: a folder holds runs of one configuration only,
 * so an experiment resumed with other settings is refused instead of mixing runs. Only the number
 * of seeds may change: more seeds add runs beside the ones kept, fewer leave the rest unread.
 */
function claimFolder(out: string, config: VideoExperimentConfig): void {
  checkOutputDir(out, 'experiment folder');
  const file = path.join(out, 'config.json');
  if (fs.existsSync(file)) {
    const saved = readJsonFile(file, 'experiment settings');
    check(saved !== null && typeof saved === 'object' && !Array.isArray(saved), `experiment settings ${file} is not a settings object; use a new --out folder`);
    const old = saved as Record<string, unknown>;
    const differs = (Object.keys(config) as (keyof VideoExperimentConfig)[]).filter((k) => k !== 'seeds' && old[k] !== config[k]);
    if (differs.length > 0) throw new KilnError(`${out} holds runs with other settings (${differs.map((k) => `${k} ${String(old[k])} here, ${config[k]} asked`).join('; ')}); use a new --out folder or the same settings`);
    if (old.seeds === config.seeds) return;
  }
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config, null, 1));
}

/** Folder of one run's generator checkpoint and scores. */
export function runDir(out: string, recipe: RecipeName, seed: number): string {
  return path.join(out, 'runs', recipe, `seed-${seed}`);
}

/** A run's saved scores; a figure with nothing to score (NaN) is saved as null and read back as NaN. */
function readRunScores(file: string, recipe: RecipeName, seed: number): RunScores {
  const r = readJsonFile(file, 'run scores') as Partial<RunScores> | null;
  const figures = r?.figures;
  const ok = r?.recipe === recipe && r.seed === seed && typeof figures === 'object' && figures !== null &&
    RUN_FIGURES.every(({ key }) => typeof figures[key] === 'number' || figures[key] === null);
  check(ok, `run scores ${file} do not hold the scores of ${recipe} seed ${seed}; delete the file to score that run again`);
  for (const [k, v] of Object.entries(figures)) figures[k] = v ?? NaN;
  return r as RunScores;
}

/** The recipes the named experiments need, each once. */
export function recipesOf(names: VideoExperimentName[]): RecipeName[] {
  return [...new Set(names.flatMap((n) => [VIDEO_EXPERIMENTS[n].reference.recipe, VIDEO_EXPERIMENTS[n].treatment.recipe]))];
}

/**
 * Trains (or resumes) and scores every run the named experiments need; a run with its scores saved
 * is not touched again. Returns the scores of every run.
 */
export async function runVideoExperiments(inputs: VideoExperimentInputs): Promise<RunScores[]> {
  const { config: c, out } = inputs;
  checkVideoExperimentConfig(c);
  check(inputs.names.length > 0, 'name at least one experiment');
  check(inputs.heldOut.length > 0, 'the held-out split has no stories');
  claimFolder(out, c);
  const log = inputs.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const recipes = recipesOf(inputs.names);
  const runs: RunScores[] = [];
  const total = recipes.length * c.seeds;
  for (const recipe of recipes) {
    for (let seed = 1; seed <= c.seeds; seed++) {
      const dir = runDir(out, recipe, seed);
      const file = path.join(dir, 'scores.json');
      const label = `run ${runs.length + 1}/${total}: ${recipe}, seed ${seed}`;
      if (fs.existsSync(file)) {
        runs.push(readRunScores(file, recipe, seed));
        log(`${label}: scored earlier`);
        continue;
      }
      log(`${label}: training`);
      setSeed(seed);
      await trainGenerator(inputs.train, inputs.tok, {
        checkpoint: dir, steps: c.steps, batch: c.batch, lr: c.lr, seed, saveEvery: c.saveEvery, textDrop: 0.25, changeWeight: 4, contextSteps: 2,
        captions: RECIPES[recipe].captions, imageShare: RECIPES[recipe].images ? c.imageShare : 0, quiet: inputs.quiet, log,
        config: { dim: c.dim, mlp: c.dim * 2, heads: 2, layers: c.layers, textLayers: 1, windowSteps: 5 },
      });
      log(`${label}: scoring`);
      const gen = await loadGenerator(dir);
      const started = Date.now();
      const cont = evaluateStories(inputs.tok, gen, inputs.judgeModel, inputs.heldOut.slice(0, c.evalStories), { ...DEFAULT_SAMPLING, seed: 1 }, undefined, inputs.featureRange);
      const prompt = scorePromptAlone(inputs.tok, gen, inputs.judgeModel, { stories: c.promptStories, seed: 1 });
      const g = cont.systems.generated;
      const figures: Record<string, number> = {};
      for (const f of CONTINUATION) figures[`continuation: ${f}`] = f === 'frechet' ? g[f].value : 100 * g[f].value;
      for (const f of PROMPT_FIGURES) figures[`prompt: ${f}`] = 100 * (prompt.counts[f].hits / prompt.counts[f].n);
      // From the checkpoint's curve: a run resumed after training finished has no recent loss of its own.
      const scores: RunScores = { recipe, seed, loss: gen.curve?.at(-1)?.loss ?? NaN, seconds: (Date.now() - started) / 1000, figures };
      fs.writeFileSync(file, JSON.stringify(scores, null, 1));
      runs.push(scores);
    }
  }
  return runs;
}

/** A figure of one arm over seeds: its mean, 95% t-interval and the per-seed values. */
export interface ArmFigure {
  mean: number;
  low: number;
  high: number;
  values: number[];
}

/** One figure of one experiment: both arms and the treatment - reference difference paired by seed. */
export interface ExperimentFigure {
  key: string;
  label: string;
  reference: ArmFigure;
  treatment: ArmFigure;
  difference: ArmFigure;
  /** The difference's 95% interval excludes 0. */
  significant: boolean;
}

function overSeeds(values: number[]): ArmFigure {
  // NaN (a figure with nothing to score in some run) leaves that run out.
  const finite = values.filter(Number.isFinite);
  const { mean, half } = meanCI(finite);
  return { mean, low: mean - half, high: mean + half, values };
}

/** Every figure of one experiment summarised over seeds from the runs' scores. */
export function summariseExperiment(name: VideoExperimentName, runs: RunScores[]): ExperimentFigure[] {
  const e = VIDEO_EXPERIMENTS[name];
  const arm = (recipe: RecipeName) => runs.filter((r) => r.recipe === recipe).sort((a, b) => a.seed - b.seed);
  const ref = arm(e.reference.recipe);
  const trt = arm(e.treatment.recipe);
  const seeds = ref.map((r) => r.seed).filter((s) => trt.some((t) => t.seed === s));
  check(seeds.length >= 2, `experiment ${name} needs at least 2 seeds scored in both arms (has ${seeds.length})`);
  const at = (rs: RunScores[], key: string) => seeds.map((s) => rs.find((r) => r.seed === s)!.figures[key]);
  const order = [...e.headline, ...RUN_FIGURES.map((f) => f.key).filter((k) => !(e.headline as readonly string[]).includes(k))];
  return order.map((key) => {
    const a = at(ref, key);
    const b = at(trt, key);
    const difference = overSeeds(b.map((v, i) => v - a[i]));
    return {
      key, label: RUN_FIGURES.find((f) => f.key === key)!.label,
      reference: overSeeds(a), treatment: overSeeds(b), difference, significant: difference.low > 0 || difference.high < 0,
    };
  });
}
