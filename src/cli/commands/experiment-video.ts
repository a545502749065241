/** `kiln experiment video`: the Phenaki and StoryBench training-data experiments. */
import { Command } from 'commander';
import { KilnError } from '../../core/index.js';
import { initBackend } from '../../backend/index.js';
import { backendOption, listFlag, num, outputDirParser } from '../flags.js';
import {
  VIDEO_EXPERIMENTS, VIDEO_EXPERIMENT_DEFAULTS, VIDEO_EXPERIMENT_NAMES, VIDEO_EXPERIMENT_QUICK, checkVideoExperimentConfig, loadJudge, loadJudgeInputRange,
  loadStories, loadTokenizer, runVideoExperiments, summariseExperiment, verdict, writeVideoExperimentReport, type VideoExperimentConfig, type VideoExperimentName,
} from '../../video/index.js';
import { defaultModelDir } from './video.js';

interface Flags {
  data: string;
  evalData: string;
  out: string;
  experiments: string;
  quick?: boolean;
  seeds?: string;
  steps?: string;
  batch?: string;
  lr?: string;
  dim?: string;
  layers?: string;
  imageShare?: string;
  evalStories?: string;
  promptStories?: string;
  tokenizer: string;
  judge: string;
  backend?: string;
}

function experimentNames(value: string): VideoExperimentName[] {
  const names = listFlag(value);
  if (names.length === 0) throw new KilnError(`--experiments needs at least one of ${VIDEO_EXPERIMENT_NAMES.join(', ')}`);
  for (const n of names) {
    if (!(VIDEO_EXPERIMENT_NAMES as string[]).includes(n)) throw new KilnError(`--experiments: unknown '${n}' (choose from ${VIDEO_EXPERIMENT_NAMES.join(', ')})`);
  }
  return [...new Set(names)] as VideoExperimentName[];
}

/** Flags over the default (or --quick) configuration. */
function configOf(f: Flags): VideoExperimentConfig {
  const c = { ...(f.quick ? VIDEO_EXPERIMENT_QUICK : VIDEO_EXPERIMENT_DEFAULTS) };
  const int = (v: string | undefined, flag: string, min = 1) => (v === undefined ? undefined : num(v, flag, { int: true, min }));
  c.seeds = int(f.seeds, '--seeds', 2) ?? c.seeds;
  c.steps = int(f.steps, '--steps') ?? c.steps;
  c.batch = int(f.batch, '--batch') ?? c.batch;
  c.dim = int(f.dim, '--dim', 2) ?? c.dim;
  c.layers = int(f.layers, '--layers') ?? c.layers;
  c.evalStories = int(f.evalStories, '--eval-stories') ?? c.evalStories;
  c.promptStories = int(f.promptStories, '--prompt-stories') ?? c.promptStories;
  if (f.lr !== undefined) c.lr = num(f.lr, '--lr', { min: 0 });
  if (f.imageShare !== undefined) c.imageShare = num(f.imageShare, '--image-share', { min: 0, max: 1 });
  c.saveEvery = Math.min(c.saveEvery, c.steps);
  checkVideoExperimentConfig(c);
  return c;
}

async function run(f: Flags): Promise<void> {
  const names = experimentNames(f.experiments);
  const config = configOf(f);
  await initBackend(f.backend);
  const train = loadStories(f.data, 'train');
  const heldOut = loadStories(f.evalData, 'test', config.evalStories);
  const tok = await loadTokenizer(f.tokenizer);
  const judgeModel = await loadJudge(f.judge);
  const runs = await runVideoExperiments({ names, config, out: f.out, train, heldOut, tok, judgeModel, featureRange: loadJudgeInputRange(f.judge) });
  const { html } = writeVideoExperimentReport(f.out, names, runs, config);
  for (const name of names) process.stdout.write(`${name} (${VIDEO_EXPERIMENTS[name].paper}): ${verdict(name, summariseExperiment(name, runs))}\n`);
  process.stdout.write(`report: ${html}\n`);
}

export function register(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment') ??
    program.command('experiment').description('reproduce a paper\'s experiment and write a report');
  const d = VIDEO_EXPERIMENT_DEFAULTS;
  experiment.command('video')
    .description('the video papers\' training-data experiments, each over seeds with 95% intervals: joint-images (Phenaki: still images plus ' +
      'videos against videos alone) and story-data (StoryBench: a prompt per segment against one caption per video); trains a small ' +
      'generator per recipe and seed on the shipped tokenizer, scores held-out story continuation and generation from a prompt alone')
    .requiredOption('--data <dir>', 'story dataset whose train split trains every run (from kiln data stories)')
    .requiredOption('--eval-data <dir>', 'story dataset whose held-out split scores every run')
    .requiredOption('--out <dir>', 'folder: report.html, report.md, results.json, figures/, runs/RECIPE/seed-N (re-running resumes)', outputDirParser('--out'))
    .option('--experiments <list>', `comma-separated: ${VIDEO_EXPERIMENT_NAMES.join(', ')}`, VIDEO_EXPERIMENT_NAMES.join(','))
    .option('--quick', `smoke-test configuration (${VIDEO_EXPERIMENT_QUICK.seeds} seeds, ${VIDEO_EXPERIMENT_QUICK.steps} steps, width ${VIDEO_EXPERIMENT_QUICK.dim}); its figures mean nothing`)
    .option('--seeds <n>', `training seeds 1..n per recipe, at least 2 (default ${d.seeds})`)
    .option('--steps <n>', `training steps per run (default ${d.steps})`)
    .option('--batch <n>', `windows per step (default ${d.batch})`)
    .option('--lr <x>', `Adam learning rate (default ${d.lr})`)
    .option('--dim <n>', `generator width (default ${d.dim})`)
    .option('--layers <n>', `transformer layers (default ${d.layers})`)
    .option('--image-share <p>', `share of each batch that is still images in the joint recipe (default ${d.imageShare}, Phenaki's 80/20 mix)`)
    .option('--eval-stories <n>', `held-out stories continued per run (default ${d.evalStories})`)
    .option('--prompt-stories <n>', `stories generated from a prompt alone per run (default ${d.promptStories})`)
    .option('--tokenizer <dir>', 'tokenizer checkpoint (frozen in every run)', defaultModelDir('tokenizer'))
    .option('--judge <dir>', 'judge checkpoint that scores the runs', defaultModelDir('judge'))
    .addOption(backendOption())
    .action((f: Flags) => run(f));
}
