import fs from 'node:fs';
import path from 'node:path';
import { linePlot, writeFigure, writeReport, type Block } from '../report/index.js';
import { NORM_NAMES } from './autoattack.js';
import type { SavedModelAttackResult } from './evaluate.js';
import { imageGridPng, perturbationImage } from './figures.js';

/**
 * The robustness report of `kiln attack --out DIR`: attack.json (the claim record), report.html and
 * report.md (threat model, clean and robust accuracy after each attack of the sequence, the
 * robust-accuracy curve over eps, example images with their predicted labels, runtime, warnings),
 * curve.svg and examples.png.
 */

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Writes the report into `dir`; returns the paths of the files written. */
export function writeAttackReport(dir: string, r: SavedModelAttackResult): { json: string; html: string; md: string; figures: string[] } {
  fs.mkdirSync(dir, { recursive: true });
  const s = r.summary;
  const e = r.evaluation;
  const json = path.join(dir, 'attack.json');
  fs.writeFileSync(json, JSON.stringify(s, null, 1) + '\n');
  const norm = NORM_NAMES[s.threatModel.norm];
  const figures: string[] = [];
  const blocks: Block[] = [
    { kind: 'heading', text: 'Threat model' },
    {
      kind: 'text',
      text: `${norm} perturbations of size at most **${s.threatModel.eps}** around each of ${s.n} ${s.dataset} images ` +
        `(a sample drawn with seed ${s.sampleSeed}), pixels kept in [0, 1]. Model \`${s.model}\` (SHA-256 of model and weights ` +
        `\`${s.modelSha256.slice(0, 16)}…\`). Attack \`${s.attack}\` with ${Object.entries(s.options).map(([k, v]) => `${k}=${String(v)}`).join(', ')}.`,
    },
    ...s.warnings.map((w): Block => ({ kind: 'text', text: `**Warning:** ${w}` })),
    { kind: 'heading', text: 'Accuracy' },
    {
      kind: 'table',
      columns: ['after', 'accuracy', 'seconds'],
      rows: [
        ['clean images', pct(s.cleanAccuracy), ''],
        ...s.stages.map((st) => [`+ ${st.attack}`, pct(st.robustAccuracy), st.seconds.toFixed(1)]),
        [`**robust accuracy** (${s.attack})`, `**${pct(s.robustAccuracy)}**`, s.seconds.toFixed(1)],
      ],
      caption: s.stages.length
        ? 'Each attack of the sequence runs only on the images still classified correctly; robust accuracy counts an image only if it is correct clean and after every attack.'
        : 'Robust accuracy counts an image only if it is correct clean and after the attack.',
    },
    {
      kind: 'text',
      text: `Runtime ${s.seconds.toFixed(1)} s for the main budget (${s.imagesPerSecond.toFixed(2)} images/s) on the ${s.backend} backend; ` +
        `largest perturbation found ${s.maxPerturbation.toFixed(4)} (${norm}), within the budget.`,
    },
  ];
  if (s.curve.length > 1) {
    const file = writeFigure(dir, 'curve.svg', linePlot([{ name: s.attack, x: s.curve.map((c) => c.eps), y: s.curve.map((c) => c.robustAccuracy) }], {
      title: `Robust accuracy against ${norm} budget`, xLabel: `eps (${norm})`, yLabel: 'robust accuracy', yRange: [0, 1],
    }));
    figures.push(file);
    blocks.push(
      { kind: 'heading', text: 'Robust accuracy over eps' },
      { kind: 'figure', file, caption: `Robust accuracy under ${s.attack} at each budget run (eps 0: clean accuracy).` },
      { kind: 'table', columns: [`eps (${norm})`, 'robust accuracy'], rows: s.curve.map((c) => [c.eps, pct(c.robustAccuracy)]) },
    );
  }
  const [h, , channels] = r.shape;
  if (e.clean.length && (channels === 1 || channels === 3)) {
    const deltas = e.clean.map((c, i) => perturbationImage(c, e.adversarial[i]));
    const file = writeFigure(dir, 'examples.png', imageGridPng([e.clean, deltas, e.adversarial], h, 3, channels));
    figures.push(file);
    blocks.push(
      { kind: 'heading', text: 'Examples' },
      { kind: 'figure', file, caption: 'Images the attack fooled first, then others. Top: original images. Middle: the perturbation, grey for no change, scaled per image to its largest pixel change. Bottom: adversarial images.' },
      {
        kind: 'table',
        columns: ['image', ...e.labels.map((_, i) => String(i + 1))],
        rows: [
          ['true label', ...e.labels],
          ['predicted (original)', ...e.cleanPredictions],
          ['predicted (adversarial)', ...e.adversarialPredictions.map((p, i) => (p !== e.labels[i] ? `**${p}**` : String(p)))],
        ],
        caption: 'Labels of the images above, left to right; adversarial predictions that are wrong in bold.',
      },
    );
  }
  blocks.push({ kind: 'text', text: 'The figures of this report are in `attack.json`, a record to compare with other evaluations.' });
  // The model's name: its folder, whether given as the folder or as its model.json.
  const resolved = path.resolve(s.model);
  const name = path.basename(resolved.endsWith('.json') ? path.dirname(resolved) : resolved);
  const doc = { title: `Robustness of ${name} on ${s.dataset}: ${s.attack}`, blocks };
  return { json, ...writeReport(dir, doc), figures };
}
