/**
 * Video story commands: `kiln data stories`, `kiln video train-tokenizer|train-generator|eval`
 * and `kiln story`.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { check, checkOutputFile, createProgress, projectRoot } from '../../core/index.js';
import { initBackend, setSeed } from '../../backend/index.js';
import { backendOption, intParser, numberFlag, positiveParser } from '../flags.js';
import { DEFAULT_SAMPLING, DEFAULT_TOKENIZER, evaluateStories, evaluateTokenizer, generateStory, judgeAccuracy, judgeTrainingClips, judgeInputRange, JUDGE_HEADS, loadJudge, loadJudgeInputRange, saveJudge, saveJudgeInputRange, scoresMarkdown, trainJudge, writeVideoEvalReport, loadGenerator, loadStories, loadTokenizer, trainGenerator, trainTokenizer, writeStoryDataset, curveScores, type EvalResult, type LoadedGenerator, type System } from '../../video/index.js';
import { writeVideoFile } from '../../media/index.js';
import { schedules } from '../../train/index.js';

const int = intParser;
const num = positiveParser;

/** About two minutes of generation on the native backend (19 frames/s measured); more is a typo. */
const MAX_STORY_FRAMES = 2048;

interface SamplingFlags { steps: number; temperature: number; guidance: number; choiceTemperature: number; seed: number }

/** The decoding flags `story` and `video eval` share. */
function withSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--steps <n>', 'parallel decoding iterations per window', int('--steps'), DEFAULT_SAMPLING.steps)
    .option('--temperature <x>', 'token sampling temperature', num('--temperature'), DEFAULT_SAMPLING.temperature)
    .option('--guidance <x>', 'classifier-free guidance scale (1 = none)', num('--guidance'), DEFAULT_SAMPLING.guidance)
    .option('--choice-temperature <x>', 'noise on the confidence that picks which tokens to keep, annealed to 0', (v: string) => numberFlag(v, '--choice-temperature', 0), DEFAULT_SAMPLING.choiceTemperature)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1);
}

function samplingFrom(o: SamplingFlags): SamplingFlags {
  return { steps: o.steps, temperature: o.temperature, guidance: o.guidance, choiceTemperature: o.choiceTemperature, seed: o.seed };
}

export function defaultModelDir(name: string): string {
  return path.join(projectRoot(), 'models', 'video', name);
}

export function register(program: Command): void {
  const data = program.commands.find((c) => c.name() === 'data') ?? program.command('data').description('build datasets');
  data
    .command('stories')
    .description('render procedurally generated multi-prompt video stories (StoryBench task files + .npy frames)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'number of stories (train + held-out)', int('--count', 2), 500)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .option('--test-fraction <f>', 'share of stories in the held-out split', num('--test-fraction'), 0.2)
    .action((opts: { out: string; count: number; seed: number; testFraction: number }) => {
      check(opts.testFraction < 1, '--test-fraction must be below 1');
      const progress = createProgress({ label: 'stories', total: opts.count });
      const r = writeStoryDataset({ out: opts.out, count: opts.count, seed: opts.seed, testFraction: opts.testFraction, onStory: (n) => progress.update(n) });
      progress.done();
      console.log(`wrote ${r.train} training and ${r.test} held-out stories to ${opts.out}`);
    });

  const video = program.command('video').description('train and evaluate the Phenaki-style story video generator');
  video
    .command('train-tokenizer')
    .description('train the C-ViViT video tokenizer (resumable)')
    .requiredOption('--data <dir>', 'story dataset folder (from kiln data stories)')
    .option('--checkpoint <dir>', 'checkpoint folder (resumes if it holds a state)', defaultModelDir('tokenizer'))
    .option('--steps <n>', 'total training steps', int('--steps'), 6000)
    .option('--batch <n>', 'clips per step', int('--batch'), 8)
    .option('--clip-frames <n>', 'frames per training clip (1 + tpatch*k)', int('--clip-frames'), 9)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 2e-3)
    .option('--codebook <n>', 'codebook size (new runs only)', int('--codebook', 2), DEFAULT_TOKENIZER.codebook)
    .option('--code-dim <n>', 'code vector length (new runs only)', int('--code-dim', 2), DEFAULT_TOKENIZER.codeDim)
    .option('--groups <n>', 'product quantisation: codebooks per patch, each coding a part of the encoder output (new runs only)', int('--groups'), DEFAULT_TOKENIZER.groups ?? 1)
    .option('--patch <n>', 'spatial patch side in pixels, divides 32 (new runs only)', int('--patch', 1), DEFAULT_TOKENIZER.patch)
    .option('--tpatch <n>', 'frames per patch after the first frame (new runs only)', int('--tpatch', 1), DEFAULT_TOKENIZER.tpatch)
    .option('--dim <n>', 'transformer width (new runs only)', int('--dim', 8), DEFAULT_TOKENIZER.dim)
    .option('--foreground-weight <x>', 'reconstruction weight of object pixels relative to background (1 = plain MSE)', num('--foreground-weight'), 5)
    .option('--edge-weight <x>', 'weight of the edge loss, the error of horizontal and vertical pixel differences (0 = none)', (v: string) => numberFlag(v, '--edge-weight', 0), 0)
    .option('--decoder-from <dir>', 'start from this trained tokenizer and train only its decoder (codes stay the same, so its generator still works); new runs only')
    .option('--code-noise <x>', 'with --decoder-from: share of patches whose code is swapped for a random other patch\'s before decoding, so the decoder learns to draw through a generator\'s wrong codes (0 = none)', (v: string) => numberFlag(v, '--code-noise', 0), 0)
    .option('--decoder-layers <n>', 'spatial transformer layers of the decoder (default: as many as the encoder); new runs only', int('--decoder-layers', 1))
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), 100)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .addOption(backendOption())
    .action(async (opts: { data: string; checkpoint: string; steps: number; batch: number; clipFrames: number; lr: number; codebook: number; codeDim: number; groups: number; patch: number; tpatch: number; dim: number; foregroundWeight: number; edgeWeight: number; decoderFrom?: string; decoderLayers?: number; codeNoise: number; saveEvery: number; seed: number; backend?: string }) => {
      await initBackend(opts.backend);
      setSeed(opts.seed);
      const stories = loadStories(opts.data, 'train');
      const r = await trainTokenizer(stories, {
        checkpoint: opts.checkpoint, steps: opts.steps, batch: opts.batch, clipFrames: opts.clipFrames, lr: opts.lr,
        seed: opts.seed, saveEvery: opts.saveEvery, deadThreshold: 0.05, foregroundWeight: opts.foregroundWeight,
        edgeWeight: opts.edgeWeight, decoderFrom: opts.decoderFrom, codeNoise: opts.codeNoise,
        config: { codebook: opts.codebook, codeDim: opts.codeDim, groups: opts.groups, patch: opts.patch, tpatch: opts.tpatch, dim: opts.dim, mlp: 2 * opts.dim, decoderSpatialLayers: opts.decoderLayers },
      });
      console.log(`tokenizer saved to ${opts.checkpoint}: recon mse ${r.recon.toFixed(4)}, codebook perplexity ${r.perplexity.toFixed(1)}, ${r.stepsPerSecond.toFixed(2)} steps/s`);
    });

  video
    .command('train-generator')
    .description('train the masked video-token transformer with its text encoder (resumable)')
    .requiredOption('--data <dir>', 'story dataset folder (from kiln data stories)')
    .option('--tokenizer <dir>', 'trained tokenizer checkpoint', defaultModelDir('tokenizer'))
    .option('--checkpoint <dir>', 'checkpoint folder (resumes if it holds a state)', defaultModelDir('generator'))
    .option('--steps <n>', 'total training steps', int('--steps'), 6000)
    .option('--batch <n>', 'windows per step', int('--batch'), 12)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 1e-3)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule over this run\'s steps (with --init-from: from the trained generator\'s step to --steps)').choices(schedules.names()).default('constant'))
    .option('--min-lr <x>', 'floor of the cosine schedules', (v: string) => numberFlag(v, '--min-lr', 0), 0)
    .option('--warmup-steps <n>', 'linear warm-up steps of the warmup schedules', int('--warmup-steps', 0), 0)
    .option('--text-drop <p>', 'share of examples with the null prompt (classifier-free guidance)', num('--text-drop'), 0.25)
    .option('--change-weight <x>', 'loss weight of tokens that differ from the same place one time step earlier (1 = plain)', (v: string) => numberFlag(v, '--change-weight', 1), 4)
    .option('--dim <n>', 'model width (new runs only)', int('--dim', 8), 96)
    .option('--layers <n>', 'transformer layers (new runs only)', int('--layers'), 4)
    .option('--window-steps <n>', 'tokenizer time steps per generated window (new runs only)', int('--window-steps', 2), 5)
    .option('--context-steps <n>', 'time steps given as context in continuation windows (default: 2; with --init-from, the trained generator\'s)', int('--context-steps'))
    .option('--save-every <n>', 'checkpoint every n steps', int('--save-every'), 100)
    .option('--init-from <dir>', 'new runs only: continue this trained generator (same tokenizer; its sizes are kept, the pooled-text path added) from its step count and training curve, with a fresh optimizer; --steps is the total')
    .option('--add-layers <n>', 'with --init-from: transformer layers stacked on top of the trained ones, each starting as the identity', int('--add-layers', 1))
    .option('--eval-data <dir>', 'story dataset whose held-out split scores the generator on the training curve (judge accuracies, motion)')
    .option('--eval-every <n>', 'steps between held-out scorings (a multiple of --save-every)', int('--eval-every'), 500)
    .option('--eval-stories <n>', 'held-out stories per scoring', int('--eval-stories'), 8)
    .option('--judge <dir>', 'judge for the held-out scoring', defaultModelDir('judge'))
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .addOption(backendOption())
    .action(async (opts: { data: string; tokenizer: string; checkpoint: string; steps: number; batch: number; lr: number; schedule: string; minLr: number; warmupSteps: number; textDrop: number; changeWeight: number; dim: number; layers: number; windowSteps: number; contextSteps?: number; saveEvery: number; initFrom?: string; addLayers?: number; evalData?: string; evalEvery: number; evalStories: number; judge: string; seed: number; backend?: string }) => {
      check(opts.textDrop < 1, '--text-drop must be below 1');
      check(opts.addLayers === undefined || opts.initFrom !== undefined, '--add-layers needs --init-from (the trained generator to add the layers to)');
      check(opts.minLr <= opts.lr, `--min-lr (${opts.minLr}) must not be above --lr (${opts.lr})`);
      check(!opts.evalData || opts.evalEvery % opts.saveEvery === 0, `--eval-every (${opts.evalEvery}) must be a multiple of --save-every (${opts.saveEvery})`);
      await initBackend(opts.backend);
      setSeed(opts.seed);
      const tok = await loadTokenizer(opts.tokenizer);
      const stories = loadStories(opts.data, 'train');
      const heldOut = opts.evalData ? loadStories(opts.evalData, 'test', opts.evalStories) : null;
      const judgeModel = heldOut ? await loadJudge(opts.judge) : null;
      const monitor = heldOut && judgeModel ? { every: opts.evalEvery, score: (gen: LoadedGenerator) => curveScores(evaluateStories(tok, gen, judgeModel, heldOut, { ...DEFAULT_SAMPLING, seed: 1 })) } : undefined;
      const r = await trainGenerator(stories, tok, {
        checkpoint: opts.checkpoint, steps: opts.steps, batch: opts.batch, lr: opts.lr, schedule: opts.schedule, minLr: opts.minLr, warmupSteps: opts.warmupSteps, seed: opts.seed, saveEvery: opts.saveEvery,
        textDrop: opts.textDrop, changeWeight: opts.changeWeight, contextSteps: opts.contextSteps, initFrom: opts.initFrom, addLayers: opts.addLayers, monitor,
        config: { dim: opts.dim, mlp: opts.dim * 2, heads: 2, layers: opts.layers, textLayers: 1, windowSteps: opts.windowSteps },
      });
      console.log(`generator saved to ${opts.checkpoint}: masked-token loss ${r.loss.toFixed(3)}, ${r.stepsPerSecond.toFixed(2)} steps/s`);
    });

  withSamplingOptions(program
    .command('story')
    .description('generate a video story from a sequence of prompts (one segment per prompt)')
    .argument('<prompts...>', 'one prompt per segment, e.g. "a red square moves right" "the red square jumps"')
    .option('--frames <list>', `frames per segment, comma-separated (8 fps); one number applies to all; at most ${MAX_STORY_FRAMES} in all`, '16')
    .option('--background <text>', 'background description, e.g. "a black background"')
    .requiredOption('--out <file>', 'output .gif (or .mp4 when ffmpeg is installed)')
    .option('--tokenizer <dir>', 'tokenizer checkpoint', defaultModelDir('tokenizer'))
    .option('--generator <dir>', 'generator checkpoint', defaultModelDir('generator'))
    .option('--scale <n>', 'pixel upscaling of the output', int('--scale'), 4)
    .addOption(backendOption()))
    .action(async (prompts: string[], opts: { frames: string; background?: string; out: string; tokenizer: string; generator: string; scale: number; backend?: string } & SamplingFlags) => {
      const counts = opts.frames.split(',').map((f) => int('--frames')(f.trim()));
      const frames = counts.length === 1 ? prompts.map(() => counts[0]) : counts;
      check(frames.length === prompts.length, `--frames lists ${frames.length} counts for ${prompts.length} prompts`);
      const total = frames.reduce((a, b) => a + b, 0);
      check(total <= MAX_STORY_FRAMES, `--frames asks for ${total} frames; a story has at most ${MAX_STORY_FRAMES} (${MAX_STORY_FRAMES / 8} s at 8 fps)`);
      checkOutputFile(opts.out, '--out');
      await initBackend(opts.backend);
      const tok = await loadTokenizer(opts.tokenizer);
      const gen = await loadGenerator(opts.generator);
      const started = Date.now();
      const video = generateStory(tok, gen, prompts, frames, { ...samplingFrom(opts), background: opts.background });
      const seconds = (Date.now() - started) / 1000;
      writeVideoFile(opts.out, video, opts.scale);
      console.log(`wrote ${video.t} frames (${frames.join('+')}) to ${opts.out} in ${seconds.toFixed(1)} s (${(seconds / video.t).toFixed(2)} s/frame)`);
    });

  video
    .command('train-judge')
    .description('train the evaluation classifier (action, shape, colour) on freshly generated world data and score it on fresh held-out stories')
    .option('--checkpoint <dir>', 'where to save the judge (tfjs LayersModel)', defaultModelDir('judge'))
    .option('--clips <n>', 'training segment clips', int('--clips', 100), 8000)
    .option('--test-clips <n>', 'held-out segment clips scored after training (stories from --test-seed)', int('--test-clips', 1), 2000)
    .option('--epochs <n>', 'training epochs', int('--epochs'), 60)
    .option('--seed <n>', 'random seed (keep it apart from the dataset seed)', int('--seed', 0), 1234)
    .option('--test-seed <n>', 'seed of the held-out stories (must differ from --seed)', int('--test-seed', 0), 4321)
    .addOption(backendOption())
    .action(async (opts: { checkpoint: string; clips: number; testClips: number; epochs: number; seed: number; testSeed: number; backend?: string }) => {
      check(opts.testSeed !== opts.seed, '--test-seed must differ from --seed (the held-out stories would be the training stories)');
      await initBackend(opts.backend);
      setSeed(opts.seed);
      const progress = createProgress({ label: 'train-judge', total: opts.epochs });
      const clips = judgeTrainingClips(opts.clips, opts.seed);
      const model = await trainJudge(clips, opts.epochs, (e, loss) => progress.update(e, `loss ${loss.toFixed(3)}`));
      progress.done();
      await saveJudge(opts.checkpoint, model);
      saveJudgeInputRange(opts.checkpoint, judgeInputRange(clips.map((c) => c.clip)));
      const acc = judgeAccuracy(model, judgeTrainingClips(opts.testClips, opts.testSeed));
      for (const head of JUDGE_HEADS) {
        const a = acc[head];
        console.log(`held-out ${head}: ${(100 * a.rate).toFixed(1)}% [${(100 * a.low).toFixed(1)}, ${(100 * a.high).toFixed(1)}] (${a.correct}/${a.n})`);
      }
      console.log(`judge saved to ${opts.checkpoint}`);
    });

  withSamplingOptions(video
    .command('eval')
    .description('evaluate on the held-out split: judge accuracies, judge-free measures (object visible, motion, size, colour), Frechet distance and PSNR with 95% intervals, for the ground truth, the tokenizer reconstruction, the generator and a repeat-last-frame baseline (or the tokenizer alone: --no-generator), and which differences are significant')
    .requiredOption('--data <dir>', 'story dataset folder (its test split is used)')
    .requiredOption('--out <dir>', 'report folder (report.md, report.html, metrics.json, GIF gallery)')
    .option('--limit <n>', 'held-out stories to evaluate', int('--limit'), 24)
    .option('--gallery <n>', 'stories shown as GIFs', int('--gallery', 0), 8)
    .option('--tokenizer <dir>', 'tokenizer checkpoint', defaultModelDir('tokenizer'))
    .option('--generator <dir>', 'generator checkpoint', defaultModelDir('generator'))
    .option('--no-generator', 'score the tokenizer alone: its reconstructions against the ground truth (no generator needed)')
    .option('--judge <dir>', 'judge checkpoint (from kiln video train-judge)', defaultModelDir('judge'))
    .addOption(backendOption()))
    .action(async (opts: { data: string; out: string; limit: number; gallery: number; tokenizer: string; generator: string | false; judge: string; backend?: string } & SamplingFlags, cmd: Command) => {
      if (opts.generator === false) {
        // A decoding flag would change nothing in a tokenizer's scores: say so rather than ignore it.
        const given = cmd.options.filter((o) => o.attributeName() in samplingFrom(opts) && cmd.getOptionValueSource(o.attributeName()) === 'cli');
        const flags = given.map((o) => o.long).join(', ');
        check(given.length === 0, `--no-generator scores the tokenizer alone; ${given.length > 1 ? `the decoding flags ${flags} apply` : `the decoding flag ${flags} applies`} to a generator`);
      }
      await initBackend(opts.backend);
      const tok = await loadTokenizer(opts.tokenizer);
      const gen = opts.generator === false ? null : await loadGenerator(opts.generator);
      const judgeModel = await loadJudge(opts.judge);
      const stories = loadStories(opts.data, 'test', opts.limit);
      const progress = createProgress({ label: 'eval', total: stories.length });
      const onStory = (n: number) => progress.update(n);
      const range = loadJudgeInputRange(opts.judge);
      const report = <S extends System>(r: EvalResult<S>) => {
        progress.done();
        const files = writeVideoEvalReport(opts.out, r, opts.gallery, gen?.curve);
        console.log(scoresMarkdown(r));
        console.log(`report written to ${files.md}`);
      };
      if (gen) report(evaluateStories(tok, gen, judgeModel, stories, samplingFrom(opts), onStory, range));
      else report(evaluateTokenizer(tok, judgeModel, stories, onStory, range));
    });
}
