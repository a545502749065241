/**
 * StoryBench commands: `kiln storybench tasks|run|score|rate|ratings`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { backendOption, collect, hostParser, intParser, listFlag, num, optionFlags, optionsHelp, portParser } from '../flags.js';
import { initBackend } from '../../backend/index.js';
import { checkOutputFile, createProgress, type OptionSpec } from '../../core/index.js';
import { progressBars } from '../run.js';
import {
  OFFICIAL_DATASETS, dualEncoders, frameExtractors, generators, humanSection, judgementsCsv, metrics, readJudgements, resolveDataset,
  runBenchmark, saveKilnDual, scoreRuns, shippedModel, summarizeTasks, trainKilnDual, videoExtractors, winRates, writeLeaderboard, writeScores,
} from '../../storybench/index.js';
import { TASKS, type TaskName } from '../../data/index.js';
import { startRatingApp } from '../../server/index.js';

const int = intParser;
const list = listFlag;
const taskOption = () => new Option('--task <task>', 'StoryBench task').choices([...TASKS]).makeOptionMandatory();

/** The options of the chosen metrics, each once. */
function metricOptions(names: readonly string[]): OptionSpec[] {
  const specs = new Map<string, OptionSpec>();
  for (const n of names) for (const o of metrics.get(n).options) specs.set(o.name, o);
  return [...specs.values()];
}

const generatorsHelp = () => generators.names().map((n) => `  ${n}: ${generators.describe(n)}\n${optionsHelp(generators.get(n).options)}`).join('\n');

const metricsHelp = () => metrics.names().map((n) => `  ${n}: ${metrics.describe(n)}\n${optionsHelp(metrics.get(n).options)}`).join('\n');

const datasetHelp = `dataset: ${OFFICIAL_DATASETS.join(', ')} (shipped task files; needs --videos) or a folder of <task>.json files (e.g. from kiln data stories)`;

export function register(program: Command): void {
  const sb = program.command('storybench').description('StoryBench: official video-story tasks, automatic metrics, leaderboards and human ratings');

  sb.command('tasks')
    .description('validate task files and print what each task holds')
    .option('--dataset <name|dir>', datasetHelp, 'all official')
    .action((opts: { dataset: string }) => {
      const names = opts.dataset === 'all official' ? [...OFFICIAL_DATASETS] : [opts.dataset];
      for (const s of names.flatMap((name) => summarizeTasks(resolveDataset(name)))) {
        console.log(`${s.dataset} ${s.task}: ${s.items} items, ${s.prompts} prompts, ${s.frames} frames to generate (all valid)`);
      }
    });

  sb.command('run')
    .description('generate every item of one task with a model and write results in the reference npz layout')
    .addOption(taskOption())
    .requiredOption('--dataset <name|dir>', datasetHelp)
    .requiredOption('--model <name>', `generator (${generators.names().join(', ')}; see below)`)
    .requiredOption('--out <dir>', 'results folder (OUT/<model>/<task>/<dataset>/raw/*.npz, ground truth beside)')
    .option('--samples <n>', 'videos generated per item (the reference uses 4)', int('--samples'), 4)
    .option('--videos <dir>', 'folder holding the source videos (.npy/.npz frame arrays or video files for ffmpeg)')
    .option('--limit <n>', 'only the first n items', int('--limit'))
    .option('--seed <n>', 'random seed', int('--seed', 0), 0)
    .option('--option <key=value>', 'generator option, repeatable (see the list below)', collect, [] as string[])
    .addOption(backendOption())
    .addHelpText('after', () => `\nGenerators and their options:\n${generatorsHelp()}`)
    .action(async (opts: { task: TaskName; dataset: string; model: string; out: string; samples: number; videos?: string; limit?: number; seed: number; option: string[]; backend?: string }) => {
      const generatorOptions = optionFlags(opts.option, `generator '${opts.model}'`, generators.get(opts.model).options);
      const dataset = resolveDataset(opts.dataset, opts.videos);
      await initBackend(opts.backend);
      const bars = progressBars(`storybench ${opts.model} ${opts.task}`);
      const r = await runBenchmark({ task: opts.task, dataset, model: opts.model, generatorOptions,
        samples: opts.samples, out: opts.out, limit: opts.limit, seed: opts.seed, onProgress: (done, total) => bars.update(done, total) });
      bars.done();
      console.log(`wrote ${r.items} items x ${opts.samples} samples to ${r.dir}`);
    });

  sb.command('score')
    .description('score every model under DIR against the ground truth; writes scores.json, leaderboard.md and leaderboard.html')
    .argument('<dir>', 'results folder from kiln storybench run')
    .option('--metrics <list>', `comma-separated metrics (${metrics.names().join(', ')})`, list, metrics.names())
    .option('--frame-features <name|file.onnx>', `frame features for fid/sim (${frameExtractors.names().join(', ')} or an ONNX path)`, 'kiln-judge')
    .option('--video-features <name|file.onnx>', `clip features for fvd (${videoExtractors.names().join(', ')} or an ONNX path)`, 'kiln-judge')
    .option('--dual-encoder <name|image.onnx,text.onnx>', `video-text encoder for vtm (${dualEncoders.names().join(', ')} or an ONNX pair)`, 'kiln-dual')
    .option('--option <key=value>', 'metric option, repeatable, over the feature flags above (see the list below)', collect, [] as string[])
    .option('--ratings <db>', 'SQLite ratings from kiln storybench rate: adds win rates and metric-human agreement')
    .addHelpText('after', () => `\nMetrics and their options:\n${metricsHelp()}`)
    .action(async (dir: string, opts: { metrics: string[]; frameFeatures: string; videoFeatures: string; dualEncoder: string; option: string[]; ratings?: string }) => {
      const options = optionFlags(opts.option, `metrics ${opts.metrics.join(', ')}`, metricOptions(opts.metrics));
      const bars = progressBars('score');
      const scores = await scoreRuns(dir, opts.metrics,
        { frameFeatures: opts.frameFeatures, videoFeatures: opts.videoFeatures, dualEncoder: opts.dualEncoder, ...options },
        (done, total, run) => bars.update(done, total, run));
      bars.done();
      writeScores(dir, scores);
      const human = opts.ratings ? humanSection(scores, readJudgements(opts.ratings)) : undefined;
      const files = writeLeaderboard(dir, scores, human);
      console.log(`leaderboard: ${files.markdown} and ${files.html}`);
    });

  sb.command('train-dual')
    .description("train the kiln-dual video-text encoder (VTM on Kiln's story world) on freshly generated stories")
    .option('--out <dir>', 'where to save it', shippedModel('storybench', 'dual'))
    .option('--clips <n>', 'segment clips drawn from generated stories', int('--clips', 16), 6000)
    .option('--steps <n>', 'training steps (batches of 128)', int('--steps'), 1500)
    .option('--seed <n>', 'random seed (its own, apart from the datasets it will score)', int('--seed', 0), 11)
    .addOption(backendOption())
    .action(async (opts: { out: string; clips: number; steps: number; seed: number; backend?: string }) => {
      fs.mkdirSync(opts.out, { recursive: true });
      checkOutputFile(path.join(opts.out, 'vocabulary.json'), '--out');
      await initBackend(opts.backend);
      const progress = createProgress({ label: 'train-dual', total: opts.steps });
      const r = await trainKilnDual({ clips: opts.clips, steps: opts.steps, seed: opts.seed, onStep: (step, loss) => progress.update(step, `loss ${loss.toFixed(3)}`) });
      progress.done();
      await saveKilnDual(opts.out, r);
      console.log(`kiln-dual saved to ${opts.out}: contrastive loss ${r.loss.toFixed(3)}`);
    });

  sb.command('rate')
    .description('serve the side-by-side human rating app (judgements stored in SQLite)')
    .requiredOption('--results <dirs>', 'comma-separated results folders (two or more systems on the same task and dataset)', list)
    .option('--db <file>', 'SQLite file for the judgements', 'ratings.db')
    .option('--port <n>', 'TCP port, 0-65535 (0: any free port)', portParser(), 8080)
    .option('--host <addr>', 'address to bind (127.0.0.1 keeps the app local)', hostParser(), '127.0.0.1')
    .option('--min-seconds <s>', 'seconds each item stays on screen before it can be judged', (v: string) => num(v, '--min-seconds', { min: 0, max: 600 }), 5)
    .action(async (opts: { results: string[]; db: string; port: number; host: string; minSeconds: number }) => {
      checkOutputFile(opts.db, '--db');
      const app = await startRatingApp({ db: opts.db, results: opts.results, host: opts.host, port: opts.port, minSeconds: opts.minSeconds });
      console.log(`rating app on ${app.url} (judgements in ${opts.db}); Ctrl-C to stop`);
      console.log(`results (keep this from raters): ${app.url}/api/winrates?token=${app.adminToken} and ${app.url}/api/export.csv?token=${app.adminToken}`);
      process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
    });

  sb.command('ratings')
    .description('summarise stored judgements: win rates with 95% Wilson intervals, or a CSV export')
    .requiredOption('--db <file>', 'SQLite file written by kiln storybench rate')
    .option('--csv <file>', 'write every judgement as CSV ("-" for stdout)')
    .action((opts: { db: string; csv?: string }) => {
      if (opts.csv && opts.csv !== '-') checkOutputFile(opts.csv, '--csv');
      const all = readJudgements(opts.db);
      if (opts.csv) {
        if (opts.csv === '-') process.stdout.write(judgementsCsv(all));
        else fs.writeFileSync(opts.csv, judgementsCsv(all));
        return;
      }
      console.log(`${all.length} judgements by ${new Set(all.map((j) => j.rater)).size} rater(s)`);
      for (const w of winRates(all)) {
        const pct = (v: number) => (Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(1)}%`);
        console.log(`${w.task} ${w.dataset}: ${w.system} vs ${w.opponent}: ${w.wins}-${w.losses} (${w.ties} ties), win rate ${pct(w.rate)} [${pct(w.low)}, ${pct(w.high)}]`);
      }
    });
}
