import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { type MetricEnvOptions, type MetricScore, MetricEnv, metrics } from './metrics.js';
import { GROUND_TRUTH, type SystemRun, findRuns, readResult, resultSamples } from './results.js';

/** One leaderboard row: a model on one task of one dataset. */
export interface ScoreRow {
  model: string;
  task: string;
  dataset: string;
  samples: number;
  items: number;
  scores: Record<string, MetricScore>;
}

export interface ScoreFile {
  metrics: { name: string; better: 'lower' | 'higher' }[];
  extractors: Record<string, string | number>;
  rows: ScoreRow[];
}

/** Progress of scoring: items done of one system run (`run` names its model and task). */
export type ScoreProgress = (done: number, total: number, run: string) => void;

async function scoreRun(run: SystemRun, truth: SystemRun | undefined, names: string[], env: MetricEnv, onProgress?: ScoreProgress): Promise<ScoreRow> {
  const m = run.manifest;
  const chosen = names.map((n) => metrics.get(n));
  const needsTruth = chosen.some((x) => x.needsGroundTruth);
  if (needsTruth && !truth) throw new KilnError(`${run.dir}: no ground_truth results for ${m.task}/${m.dataset} next to it`);
  const accs = await Promise.all(chosen.map((x) => x.start(env)));
  for (const [k, { name }] of m.items.entries()) {
    const pred = readResult(path.join(run.dir, 'raw', `${name}.npz`));
    const gt = needsTruth ? readResult(path.join(truth!.dir, 'raw', `${name}.npz`)) : null;
    const item = { name, samples: resultSamples(pred, m.samples), groundTruth: gt ? gt.video : null, frames: pred.frames, texts: pred.texts };
    for (const acc of accs) await acc.add(item);
    onProgress?.(k + 1, m.items.length, `${m.model} ${m.task}`);
  }
  const scores: Record<string, MetricScore> = {};
  chosen.forEach((x, i) => {
    try {
      scores[x.name] = accs[i].finish();
    } catch (e) {
      // One metric that cannot be computed here (e.g. a Frechet distance over a single video)
      // leaves a gap in the leaderboard, not an aborted run.
      if (!(e instanceof KilnError)) throw e;
      scores[x.name] = { perSample: [], mean: NaN, std: NaN, note: e.message };
    }
  });
  return { model: m.model, task: m.task, dataset: m.dataset, samples: m.samples, items: m.items.length, scores };
}

/** Scores every model run under `root` against the ground truth of its task and dataset. */
export async function scoreRuns(root: string, names: string[], options: MetricEnvOptions = {}, onProgress?: ScoreProgress): Promise<ScoreFile> {
  for (const n of names) metrics.get(n);
  const runs = findRuns(root);
  const truths = new Map(runs.filter((r) => r.manifest.model === GROUND_TRUTH).map((r) => [`${r.manifest.task}/${r.manifest.dataset}`, r]));
  const systems = runs.filter((r) => r.manifest.model !== GROUND_TRUTH);
  if (!systems.length) throw new KilnError(`no model results under ${root} (run \`kiln storybench run\` first)`);
  const env = new MetricEnv(options);
  const rows: ScoreRow[] = [];
  for (const run of systems) rows.push(await scoreRun(run, truths.get(`${run.manifest.task}/${run.manifest.dataset}`), names, env, onProgress));
  return { metrics: names.map((n) => ({ name: n, better: metrics.get(n).better })), extractors: env.describe(), rows };
}

/** Writes `scores` to ROOT/scores.json and returns its path. */
export function writeScores(root: string, scores: ScoreFile): string {
  const file = path.join(root, 'scores.json');
  fs.writeFileSync(file, JSON.stringify(scores, null, 1) + '\n');
  return file;
}

export function readScores(root: string): ScoreFile {
  const file = path.join(root, 'scores.json');
  if (!fs.existsSync(file)) throw new KilnError(`${file} not found (run \`kiln storybench score\` first)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ScoreFile;
}
