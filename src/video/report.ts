import fs from 'node:fs';
import path from 'node:path';
import { encodeGif, sideBySide } from '../media/index.js';
import { linePlot, writeFigure, writeReport, type Block, type ReportDoc } from '../report/index.js';
import { CURVE_FIGURES, intervalsNote, scoresIntro, scoresTables, type EvalResult, type System } from './evaluate.js';
import type { CurvePoint } from './train-generator.js';

/**
 * SVG plots of a generator's training curve: its masked-token loss, and the held-out scores it
 * recorded (judge accuracies and judge-free shares in %) against training steps.
 */
export function curvePlots(curve: CurvePoint[]): Record<string, string> {
  if (curve.length === 0) return {};
  const plots: Record<string, string> = {
    'curves/loss.svg': linePlot([{ name: 'masked-token loss (recent 50 steps)', x: curve.map((p) => p.step), y: curve.map((p) => p.loss) }],
      { title: 'Generator training loss', xLabel: 'training step', yLabel: 'loss' }),
  };
  const scored = curve.filter((p) => p.scores);
  const shares = CURVE_FIGURES.filter((f) => f !== 'travel');
  if (scored.length > 0) {
    // A figure without segments to score on (NaN) leaves its point out.
    const series = shares.map((f) => {
      const points = scored.filter((p) => Number.isFinite(p.scores![f]));
      return { name: f, x: points.map((p) => p.step), y: points.map((p) => p.scores![f]) };
    }).filter((s) => s.x.length > 0);
    plots['curves/held-out.svg'] = linePlot(series, { title: 'Generator on held-out stories while training', xLabel: 'training step', yLabel: '% of segments', yRange: [0, 100] });
  }
  return plots;
}

/**
 * The report of `kiln video eval`: the scores per system, what each row means, and a gallery of
 * held-out stories as GIFs (the systems side by side: ground truth | reconstruction | generated |
 * baseline, or ground truth | reconstruction for a tokenizer alone).
 */
export function videoEvalReport<S extends System>(r: EvalResult<S>, gallery: number, curve: CurvePoint[] = []): { doc: ReportDoc; figures: Record<string, Uint8Array | string> } {
  const figures: Record<string, Uint8Array | string> = {};
  const blocks: Block[] = [
    ...scoresIntro(r).map((text): Block => ({ kind: 'text', text })),
    ...scoresTables(r).map(({ title, columns, rows }): Block => ({ kind: 'table', columns, rows, caption: title })),
    { kind: 'text', text: intervalsNote(r) },
    { kind: 'text', text: 'Judge: a classifier trained separately on generated-world data (`kiln video train-judge`); the "ground truth" row is its accuracy on the real segments (its ceiling). The Frechet distance compares the judge\'s 64-d features of each segment with the ground truth\'s, its inputs clamped to the range of its training clips (input-range.json beside the judge).' },
    { kind: 'text', text: 'Judge-free measures: fixed rules on the pixels, no learned model. The acting object is the foreground that changes during the segment; "moves the named way" asks its centroid to travel at least 1.5 px along the prompt\'s direction and twice as far along it as across (a jump: to come down at least 1.5 px from its highest point); "size" asks the area to change by a factor of 1.2 the named way; "named colour" names the palette colour whose blend with the background explains the object\'s pixels (for "turns X", in the last frame). The ground-truth row shows how often the rules themselves hold.' },
    { kind: 'text', text: '"reconstruction": the ground truth encoded and decoded by the tokenizer, the ceiling of any generator on its tokens.' },
    { kind: 'text', text: r.rows.includes('baseline' as S) ? `Baseline: repeat the last conditioning frame. GIFs: ${r.rows.join(' | ')} (the first 4 frames are the conditioning).` : `GIFs: ${r.rows.join(' | ')}.` },
  ];
  const plots = curvePlots(curve);
  for (const [file, svg] of Object.entries(plots)) {
    figures[file] = svg;
    blocks.push({ kind: 'figure', file, caption: file.endsWith('loss.svg') ? 'The generator\'s training loss (from its checkpoint).' : 'Scores of the generated row on a few held-out stories, recorded while training (kiln video train-generator --eval-data).' });
  }
  for (const s of r.samples.slice(0, gallery)) {
    const file = `gifs/${s.id}.gif`;
    figures[file] = encodeGif(sideBySide(r.rows.map((sys) => s.videos[sys])), { scale: 4 });
    blocks.push({ kind: 'figure', file, caption: s.texts.map((t, i) => `${i + 1}. ${t}`).join('  ') });
  }
  return { doc: { title: 'Kiln video stories: held-out evaluation', blocks }, figures };
}

/** Writes report.html, report.md, metrics.json (the scores without the videos), the gallery GIFs and the training curves into `dir`. */
export function writeVideoEvalReport<S extends System>(dir: string, r: EvalResult<S>, gallery: number, curve: CurvePoint[] = []): { html: string; md: string; metrics: string } {
  const { doc, figures } = videoEvalReport(r, gallery, curve);
  for (const sub of ['gifs', 'curves']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [file, gif] of Object.entries(figures)) writeFigure(dir, file, gif);
  const { samples, ...scores } = r;
  void samples;
  const metrics = path.join(dir, 'metrics.json');
  fs.writeFileSync(metrics, JSON.stringify(scores, null, 1));
  return { ...writeReport(dir, doc), metrics };
}
