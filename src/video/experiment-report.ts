/** The report of `kiln experiment video`: each experiment's arms over seeds, their differences, a plot. */
import fs from 'node:fs';
import path from 'node:path';
import { scatterPlot, writeFigure, writeReport, type Block, type ReportDoc } from '../report/index.js';
import {
  RECIPES, VIDEO_EXPERIMENTS, summariseExperiment, type ArmFigure, type ExperimentFigure, type RunScores, type VideoExperimentConfig,
  type VideoExperimentName,
} from './experiment.js';

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');

/** Mean [low, high]; a share's t-interval is clipped to what a share can be (0-100%, differences +-100). */
function interval(a: ArmFigure, key: string, difference = false): string {
  const share = !key.endsWith('frechet');
  const lo = share ? (difference ? -100 : 0) : -Infinity;
  const hi = share ? 100 : Infinity;
  return `${fmt(a.mean)} [${fmt(Math.max(lo, a.low))}, ${fmt(Math.min(hi, a.high))}]`;
}

/** Per-seed values of the headline figures, both arms side by side, with each arm's mean as a larger dot. */
function headlinePlot(name: VideoExperimentName, figures: ExperimentFigure[]): string {
  const e = VIDEO_EXPERIMENTS[name];
  const shown = figures.filter((f) => (e.headline as readonly string[]).includes(f.key));
  const arms = [[e.reference.label, (f: ExperimentFigure) => f.reference, -0.15], [e.treatment.label, (f: ExperimentFigure) => f.treatment, 0.15]] as const;
  const series = arms.flatMap(([label, pick, dx]) => [
    { name: `${label} (each seed)`, x: shown.flatMap((f, i) => pick(f).values.map(() => i + dx)), y: shown.flatMap((f) => pick(f).values), radius: 3 },
    { name: `${label} (mean)`, x: shown.map((_, i) => i + dx), y: shown.map((f) => pick(f).mean), radius: 6 },
  ]);
  return scatterPlot(series, {
    title: e.title, xLabel: 'figure', yLabel: '% (generated segments or stories)', yRange: [0, 100], xRange: [-0.6, shown.length - 0.4],
    xTicks: shown.map((f, i) => ({ value: i, label: f.key.replace(': ', ' ') })), width: 860,
  });
}

/** One sentence per experiment naming the headline figures whose difference is significant. */
export function verdict(name: VideoExperimentName, figures: ExperimentFigure[]): string {
  const e = VIDEO_EXPERIMENTS[name];
  const head = figures.filter((f) => (e.headline as readonly string[]).includes(f.key));
  const sig = head.filter((f) => f.significant).map((f) => `${f.key} ${f.difference.mean > 0 ? '+' : ''}${fmt(f.difference.mean)}`);
  const not = head.filter((f) => !f.significant).map((f) => f.key);
  const seeds = head[0]?.difference.values.length ?? 0;
  return `${e.treatment.label} minus ${e.reference.label}, over ${seeds} seeds: ` +
    `${sig.length > 0 ? `significant on ${sig.join(', ')}` : 'no headline figure differs significantly'}` +
    `${not.length > 0 ? `; not significant on ${not.join(', ')}` : ''}.`;
}

/** The report document and its SVG figures. */
export function videoExperimentReport(names: VideoExperimentName[], runs: RunScores[], config: VideoExperimentConfig): { doc: ReportDoc; figures: Record<string, string>; summaries: Record<string, ExperimentFigure[]> } {
  const figures: Record<string, string> = {};
  const summaries: Record<string, ExperimentFigure[]> = {};
  const blocks: Block[] = [
    { kind: 'text', text: `Every run trains the same generator (width ${config.dim}, ${config.layers} layers, ${config.steps} steps of ${config.batch} windows, Adam ${config.lr}, change weight 4, text dropped 25% of the time) on the same frozen tokenizer and training stories; only the training data's recipe differs. Seeds 1-${config.seeds} set the initial weights and the data order, the same seed in both arms.` },
    { kind: 'text', text: `Each run is scored on ${config.evalStories} held-out stories continued from their first 4 frames (the generated row of \`kiln video eval\`: judge accuracies over segments, judge-free measures from the pixels) and on ${config.promptStories} single-prompt stories generated from the prompt alone ("a COLOUR SHAPE moves DIRECTION" on a named background, 16 frames). Figures are percentages except the Frechet distance.` },
    { kind: 'text', text: 'Intervals: mean over seeds with its 95% Student-t interval (for a share, clipped to 0-100%); the difference is treatment minus reference, paired by seed, and is "significant" when its interval excludes 0. With few seeds these intervals are wide: they measure how much a result depends on the training seed, not only on the evaluation stories.' },
  ];
  for (const name of names) {
    const e = VIDEO_EXPERIMENTS[name];
    const s = summariseExperiment(name, runs);
    summaries[name] = s;
    const file = `figures/${name}.svg`;
    figures[file] = headlinePlot(name, s);
    const recipe = (r: keyof typeof RECIPES) => (RECIPES[r].images ? `video windows plus still images (${Math.round(config.imageShare * 100)}% of each batch)` : RECIPES[r].captions === 'single' ? 'video windows, each video with one caption (one of its segment prompts) for every window' : 'video windows, each with the prompt of the segment its new frames belong to');
    blocks.push(
      { kind: 'heading', text: `${name}: ${e.title}`, level: 2 },
      { kind: 'text', text: `${e.paper}: ${e.claim}.` },
      { kind: 'text', text: `Reference arm, ${e.reference.label}: ${recipe(e.reference.recipe)}. Treatment arm, ${e.treatment.label}: ${recipe(e.treatment.recipe)}.` },
      { kind: 'text', text: `**Result.** ${verdict(name, s)}` },
      {
        kind: 'table', caption: `${name}: mean [95% interval] over seeds; per-seed values in seed order`,
        columns: ['figure', e.reference.label, e.treatment.label, 'difference', 'per seed (reference / treatment)'],
        rows: s.map((f) => [f.label, interval(f.reference, f.key), interval(f.treatment, f.key), `${interval(f.difference, f.key, true)}${f.significant ? ' significant' : ''}`,
          `${f.reference.values.map(fmt).join(', ')} / ${f.treatment.values.map(fmt).join(', ')}`]),
      },
      { kind: 'figure', file, caption: `${name}: the headline figures per seed (small dots) and their means (large dots).` },
    );
  }
  return { doc: { title: 'Kiln video stories: training-data experiments (Phenaki, StoryBench)', blocks }, figures, summaries };
}

/** Writes report.html, report.md, results.json (every run's scores and each summary) and the plots into `dir`. */
export function writeVideoExperimentReport(dir: string, names: VideoExperimentName[], runs: RunScores[], config: VideoExperimentConfig): { html: string; md: string; results: string } {
  const { doc, figures, summaries } = videoExperimentReport(names, runs, config);
  fs.mkdirSync(path.join(dir, 'figures'), { recursive: true });
  for (const [file, svg] of Object.entries(figures)) writeFigure(dir, file, svg);
  const results = path.join(dir, 'results.json');
  fs.writeFileSync(results, JSON.stringify({ config, runs, summaries }, null, 1));
  return { ...writeReport(dir, doc), results };
}
