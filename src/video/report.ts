import fs from 'node:fs';
import path from 'node:path';
import { encodeGif, sideBySide } from '../media/index.js';
import { writeFigure, writeReport, type Block, type ReportDoc } from '../report/index.js';
import { scoresIntro, scoresTable, type EvalResult } from './evaluate.js';

/**
 * The report of `kiln video eval`: the scores per system, what each row means, and a gallery of
 * held-out stories as GIFs (ground truth | reconstruction | generated | baseline side by side).
 */
export function videoEvalReport(r: EvalResult, gallery: number): { doc: ReportDoc; figures: Record<string, Uint8Array> } {
  const figures: Record<string, Uint8Array> = {};
  const blocks: Block[] = [
    ...scoresIntro(r).map((text): Block => ({ kind: 'text', text })),
    { kind: 'table', ...scoresTable(r) },
    { kind: 'text', text: 'Judge: a classifier trained separately on generated-world data (`kiln video train-judge`); "ground truth" rows are its accuracy on the real segments (its ceiling).' },
    { kind: 'text', text: '"reconstruction": the ground truth encoded and decoded by the tokenizer, the ceiling of any generator on its tokens.' },
    { kind: 'text', text: 'Baseline: repeat the last conditioning frame. GIFs: ground truth | reconstruction | generated | baseline (the first 4 frames are the conditioning).' },
  ];
  for (const s of r.samples.slice(0, gallery)) {
    const file = `gifs/${s.id}.gif`;
    figures[file] = encodeGif(sideBySide([s.videos['ground truth'], s.videos.reconstruction, s.videos.generated, s.videos.baseline]), { scale: 4 });
    blocks.push({ kind: 'figure', file, caption: s.texts.map((t, i) => `${i + 1}. ${t}`).join('  ') });
  }
  return { doc: { title: 'Kiln video stories: held-out evaluation', blocks }, figures };
}

/** Writes report.html, report.md, metrics.json (the scores without the videos) and the gallery GIFs into `dir`. */
export function writeVideoEvalReport(dir: string, r: EvalResult, gallery: number): { html: string; md: string; metrics: string } {
  const { doc, figures } = videoEvalReport(r, gallery);
  fs.mkdirSync(path.join(dir, 'gifs'), { recursive: true });
  for (const [file, gif] of Object.entries(figures)) writeFigure(dir, file, gif);
  const { samples, ...scores } = r;
  void samples;
  const metrics = path.join(dir, 'metrics.json');
  fs.writeFileSync(metrics, JSON.stringify(scores, null, 1));
  return { ...writeReport(dir, doc), metrics };
}
