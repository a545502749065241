import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { mean, meanCI } from '../math/index.js';
import { barPlot, writeFigure, writeReport, type Block, type ReportDoc } from '../report/index.js';
import { summarize, type ExcusableResult } from './experiment.js';
import { imageGridPng } from './figures.js';
import { IMAGE_SIZE } from './problem.js';

/**
 * The report of the excusable-adversarial-examples experiment (`kiln experiment excusable`): the
 * results as tables, histograms and image grids, and a verdict per claim of the paper computed from them.
 */

/** Writes results.json (reloadable with `readExcusableResults`), the figures and report.html / report.md into `dir`. */
export function writeExcusableReport(dir: string, r: ExcusableResult): { html: string; md: string; results: string } {
  fs.mkdirSync(dir, { recursive: true });
  const results = path.join(dir, 'results.json');
  // Example images go in as plain arrays so that a report can be rebuilt from the file.
  fs.writeFileSync(results, JSON.stringify(r, (_, v) => (v instanceof Float32Array ? Array.from(v) : v), 1));
  const { doc, figures } = excusableReport(r);
  for (const [file, content] of Object.entries(figures)) writeFigure(dir, file, content);
  return { ...writeReport(dir, doc), results };
}

/** A results.json written by `writeExcusableReport`, with its example images back as Float32Arrays. */
export function readExcusableResults(file: string): ExcusableResult {
  let r: ExcusableResult;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8')) as ExcusableResult;
  } catch (e) {
    throw new KilnError(`cannot read results from '${file}': ${(e as Error).message}`);
  }
  if (!r || !r.config || !Array.isArray(r.runs)) throw new KilnError(`'${file}' is not a results.json of kiln experiment excusable`);
  const images = (rows: unknown[]) => rows.filter(Array.isArray).map((v) => Float32Array.from(v as number[]));
  r.examples = (r.examples ?? []).map((e) => ({ ...e, clean: images(e.clean), off: images(e.off), on: images(e.on) }));
  r.cpuSeconds ??= NaN;
  return r;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const ci = (xs: number[]) => {
  if (!xs.length) return 'n/a';
  const c = meanCI(xs);
  return Number.isNaN(c.half) ? pct(c.mean) : `${pct(c.mean)} ± ${(100 * c.half).toFixed(1)}`;
};

const sigmasOf = (r: ExcusableResult) => [0, ...r.config.sigmas.filter((s) => s > 0)];
const within = (ds: number[], delta: number) => (ds.length ? ds.filter((d) => d < delta).length / ds.length : NaN);

/** Per-model rows: sigma, eps and the headline rates, each the mean ± 95% interval over seeds. */
function rows(r: ExcusableResult): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const sigma of sigmasOf(r)) {
    const runs = r.runs.filter((m) => m.sigma === sigma);
    r.config.eps.forEach((eps, e) => {
      const a = runs.map((m) => m.attacks[e]);
      out.push([
        sigma, eps,
        ci(runs.map((m) => m.testError)),
        ci(runs.map((m) => within(m.errorDistances, r.config.delta)).filter((v) => !Number.isNaN(v))),
        ci(a.map((x) => x.offErrors / x.attacked)),
        ci(a.map((x) => x.onErrors / x.attacked)),
        ci(a.map((x) => (x.offErrors ? 1 - x.onErrors / x.offErrors : 0))),
        ci(a.map((x) => within(x.onDistances, r.config.delta)).filter((v) => !Number.isNaN(v))),
      ]);
    });
  }
  return out;
}

const COLUMNS = ['sigma', 'eps (L2)', 'test error', `test errors within delta`, 'adv. error off manifold',
  'adv. error on manifold', 'reduction (1 - on/off)', 'on-manifold adv. errors within delta'];

/** The headline table as aligned text for a terminal. */
export function excusableSummaryTable(r: ExcusableResult): string {
  const data = rows(r);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...data.map((row) => String(row[i]).length)));
  const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(COLUMNS), ...data.map(line)].join('\n');
}

/** Histogram of latent distances to the boundary, as fractions of each set. */
function histogram(sets: { name: string; values: number[] }[], title: string, maxD: number): string {
  const bins = 10;
  const width = maxD / bins;
  const bars = Array.from({ length: bins }, (_, b) => ({
    label: `${(b * width).toFixed(2)}`,
    values: sets.map((s) => (s.values.length ? s.values.filter((d) => d >= b * width && (d < (b + 1) * width || b === bins - 1)).length / s.values.length : 0)),
  }));
  return barPlot(bars, sets.map((s) => `${s.name} (n=${s.values.length})`),
    { title, xLabel: 'latent distance to the true boundary (bin start)', yLabel: 'fraction of the set' });
}

/** The report: setup, the headline table, distance histograms, example grids and one verdict per claim of the paper. */
export function excusableReport(r: ExcusableResult): { doc: ReportDoc; figures: Record<string, string | Uint8Array> } {
  const figures: Record<string, string | Uint8Array> = {};
  const figure = (file: string, content: string | Uint8Array) => {
    figures[file] = content;
    return file;
  };
  const c = r.config;
  const base = within(r.testDistances, c.delta);
  const lastEps = c.eps.length - 1;
  const pool = (sigma: number, f: (m: ExcusableResult['runs'][number]) => number[]) =>
    r.runs.filter((m) => m.sigma === sigma).flatMap(f);
  const maxD = Math.max(...r.testDistances);
  const blocks: Block[] = [
    { kind: 'text', text: `Reproduces the analysis of Kindermans and Staats, "When adversarial examples are excusable" (arXiv 2204.11985), on Kiln's controlled problem: 28x28 images rendered from a 5-d latent (position x, y, size, angle, ellipse-to-rectangle morph), labels from the sign of sin(w1.z + b1) sin(w2.z + b2) (a 3x3 oblique checkerboard in the latent box), so the exact latent distance of any point to the true boundary is known. Classifiers: CNN (conv 5x5/2 ${c.filters[0]}, conv 3x3/2 ${c.filters[1]}, dense ${c.dense}) trained for ${c.steps} Adam steps of ${c.batchSize} fresh samples (infinite data; peak rate ${c.learningRate}, warm-up then cosine decay), without noise and with Gaussian pixel noise sigma in {${c.sigmas.join(', ')}}. ${c.seeds} seed(s); intervals are 95% t intervals over seeds. Off-manifold attack: PGD-L2 in pixel space (${c.attackSteps} steps, random start, margin loss). On-manifold attack: PGD on the latent (${c.attackSteps} steps of latent length ${c.onManifoldStepSize}, ${c.onManifoldRestarts} restart(s)) with the rendered image within the same L2 eps of the original; an on-manifold point counts as an error only if the model disagrees with that point's own true label, and the attack climbs the margin against that label. ${c.attackSize} correctly classified test points attacked per model. Close to the boundary = latent distance below delta = ${c.delta}; ${pct(base)} of all test points are that close (the base rate). Run time ${(r.seconds / 60).toFixed(1)} min wall, ${(r.cpuSeconds / 60).toFixed(1)} CPU-min.` },
    { kind: 'table', columns: COLUMNS, rows: rows(r), caption: 'Test and adversarial error rates (mean ± 95% interval over seeds); adversarial rates are fractions of attacked, correctly classified points' },
    { kind: 'heading', text: 'Where the errors lie' },
  ];
  for (const sigma of sigmasOf(r)) {
    const file = figure(`distances-sigma${sigma}.svg`, histogram([
      { name: 'all test points', values: r.testDistances },
      { name: 'test errors', values: pool(sigma, (m) => m.errorDistances) },
      { name: `off-manifold adv. (eps ${c.eps[lastEps]})`, values: pool(sigma, (m) => m.attacks[lastEps].offDistances) },
      { name: `on-manifold adv. (eps ${c.eps[lastEps]})`, values: pool(sigma, (m) => m.attacks[lastEps].onDistances) },
    ], `Distance to the true boundary, sigma = ${sigma}`, maxD));
    blocks.push({ kind: 'figure', file, caption: `Latent distance to the true boundary (sigma ${sigma}, seeds pooled): test points, test errors, the attacked points that off-manifold PGD fooled, and the on-manifold adversarial latents that are errors` });
  }
  blocks.push({ kind: 'heading', text: 'Examples' });
  for (const ex of r.examples.filter((e) => e.clean.length > 0)) {
    const file = figure(`examples-sigma${ex.sigma}.png`, imageGridPng([ex.clean, ex.off, ex.on], IMAGE_SIZE, 3));
    blocks.push({ kind: 'figure', file, caption: `Seed 0, sigma ${ex.sigma}, eps ${ex.eps}: clean test images (top), off-manifold PGD-L2 (middle), on-manifold PGD (bottom)` });
  }
  blocks.push({ kind: 'heading', text: 'Against the paper\'s claims' }, ...claims(r).map((text): Block => ({ kind: 'text', text })));
  return { doc: { title: 'When adversarial examples are excusable: Kiln reproduction', blocks }, figures };
}

/** One verdict per claim of the abstract, computed from the figures (never asserted blindly). */
function claims(r: ExcusableResult): string[] {
  const c = r.config;
  const e = c.eps.length - 1;
  const base = within(r.testDistances, c.delta);
  const std = r.runs.filter((m) => m.sigma === 0);
  const nearTest = mean(std.map((m) => within(m.errorDistances, c.delta)).filter((v) => !Number.isNaN(v)));
  const off = summarize(r, 0, (m) => m.attacks[e].offErrors / m.attacks[e].attacked).mean;
  const on = summarize(r, 0, (m) => m.attacks[e].onErrors / m.attacks[e].attacked).mean;
  const reduction = off > 0 ? 1 - on / off : NaN;
  const noisy = c.sigmas.filter((s) => s > 0);
  const bestNoise = noisy.length
    ? noisy.map((s) => ({ s, off: summarize(r, s, (m) => m.attacks[e].offErrors / m.attacks[e].attacked).mean }))
      .sort((a, b) => a.off - b.off)[0]
    : null;
  const onNear = mean(r.runs.flatMap((m) => m.attacks[e].onDistances).length
    ? [within(r.runs.flatMap((m) => m.attacks[e].onDistances), c.delta)] : []);
  const verdict = (ok: boolean) => (ok ? '**Agrees.**' : '**Does not agree.**');
  const out = [
    `1. Test errors lie close to the true boundary. ${verdict(nearTest > 2 * base)} ${pct(nearTest)} of the standard model's test errors are within delta = ${c.delta} of the boundary, against ${pct(base)} of all test points (test error ${pct(summarize(r, 0, (m) => m.testError).mean)}).`,
    `2. Adversarial examples are found almost everywhere. ${verdict(off > 0.8)} Off-manifold PGD-L2 at eps ${c.eps[e]} fools ${pct(off)} of correctly classified points of the standard model.`,
    `3. Restricting attacks to the manifold cuts adversarial errors by about 90%. ${verdict(reduction >= 0.8)} At eps ${c.eps[e]} the on-manifold error rate is ${pct(on)}, a reduction of ${pct(reduction)}.`,
  ];
  if (bestNoise) {
    const offNoise = bestNoise.off;
    out.push(`4. Gaussian-noise training has a similar effect. ${verdict(off > 0 && 1 - offNoise / off >= 0.5)} With sigma ${bestNoise.s} the off-manifold error rate at eps ${c.eps[e]} is ${pct(offNoise)} (standard: ${pct(off)}), a reduction of ${pct(off > 0 ? 1 - offNoise / off : NaN)}.`);
  }
  out.push(Number.isNaN(onNear)
    ? '5. The remaining adversarial errors lie close to the boundary. Not testable here: no on-manifold adversarial errors were found.'
    : `5. The remaining adversarial errors lie close to the boundary. ${verdict(onNear > 2 * base)} ${pct(onNear)} of on-manifold adversarial errors (all models, eps ${c.eps[e]}) are within delta of the boundary (base rate ${pct(base)}).`);
  out.push('Verdict criteria: claims 1 and 5 agree when the share within delta is more than twice the base rate; claim 2 when off-manifold PGD fools more than 80%; claim 3 when the on/off reduction is at least 80%; claim 4 when the best noise level removes at least half of the off-manifold adversarial errors.');
  return out;
}
