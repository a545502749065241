import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../core/index.js';
import { mean, meanCI } from '../math/index.js';
import { barPlot, writeFigure, writeReport, type Block, type ReportDoc } from '../report/index.js';
import { modelKinds, modelLabel, sameKind, summarize, type ExcusableResult, type ModelKind, type ModelRun } from './experiment.js';
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
  // Results from before PGD training and AutoAttack: standard and noise models, PGD off the manifold.
  const training = (k: { sigma: number; training?: string }) => k.training ?? (k.sigma > 0 ? 'noise' : 'standard');
  r.config = { ...r.config, trainings: r.config.trainings ?? ['standard', 'noise'], offAttacks: r.config.offAttacks ?? ['pgd'],
    adversarialEps: r.config.adversarialEps ?? NaN, adversarialSteps: r.config.adversarialSteps ?? NaN };
  r.runs = r.runs.map((m) => ({ ...m, training: training(m), attacks: m.attacks.map((a) => ({ ...a, offByAttack: a.offByAttack ?? { pgd: a.offErrors } })) })) as ModelRun[];
  r.examples = (r.examples ?? []).map((e) => ({ ...e, training: training(e), clean: images(e.clean), off: images(e.off), on: images(e.on) })) as ExcusableResult['examples'];
  r.cpuSeconds ??= NaN;
  return r;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const ci = (xs: number[]) => {
  if (!xs.length) return 'n/a';
  const c = meanCI(xs);
  return Number.isNaN(c.half) ? pct(c.mean) : `${pct(c.mean)} ± ${(100 * c.half).toFixed(1)}`;
};

const ATTACK_NAMES: Record<string, string> = { pgd: 'PGD-L2', autoattack: 'AutoAttack-L2' };
/** The off-manifold attacks shown one by one (when there are several), besides "any of them". */
const eachAttack = (r: ExcusableResult) => (r.config.offAttacks.length > 1 ? r.config.offAttacks : []);
/** File-name part of a model kind: sigma0, sigma0.3 (as before PGD training existed), pgd. */
const slug = (k: ModelKind) => (k.training === 'pgd' ? 'pgd' : `sigma${k.sigma}`);
const within = (ds: number[], delta: number) => (ds.length ? ds.filter((d) => d < delta).length / ds.length : NaN);

/** Per-model rows: training, eps and the headline rates, each the mean ± 95% interval over seeds. */
function rows(r: ExcusableResult): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const kind of modelKinds(r.config)) {
    const runs = r.runs.filter((m) => sameKind(m, kind));
    r.config.eps.forEach((eps, e) => {
      const a = runs.map((m) => m.attacks[e]);
      out.push([
        modelLabel(kind, r.config), eps,
        ci(runs.map((m) => m.testError)),
        ci(runs.map((m) => within(m.errorDistances, r.config.delta)).filter((v) => !Number.isNaN(v))),
        ...eachAttack(r).map((name) => ci(a.map((x) => (x.offByAttack[name] ?? NaN) / x.attacked))),
        ci(a.map((x) => x.offErrors / x.attacked)),
        ci(a.map((x) => x.onErrors / x.attacked)),
        ci(a.map((x) => (x.offErrors ? 1 - x.onErrors / x.offErrors : 0))),
        ci(a.map((x) => within(x.onDistances, r.config.delta)).filter((v) => !Number.isNaN(v))),
      ]);
    });
  }
  return out;
}

function columns(r: ExcusableResult): string[] {
  return ['training', 'eps (L2)', 'test error', `test errors within delta`,
    ...eachAttack(r).map((name) => `adv. error off manifold, ${ATTACK_NAMES[name]}`),
    eachAttack(r).length ? 'adv. error off manifold, any' : 'adv. error off manifold',
    'adv. error on manifold', 'reduction (1 - on/off)', 'on-manifold adv. errors within delta'];
}

/** The headline table as aligned text for a terminal. */
export function excusableSummaryTable(r: ExcusableResult): string {
  const data = rows(r);
  const COLUMNS = columns(r);
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
  const pool = (kind: ModelKind, f: (m: ModelRun) => number[]) => r.runs.filter((m) => sameKind(m, kind)).flatMap(f);
  const offName = c.offAttacks.map((a) => ATTACK_NAMES[a]).join(' or ');
  const maxD = Math.max(...r.testDistances);
  const blocks: Block[] = [
    { kind: 'text', text: `Reproduces the analysis of Kindermans and Staats, "When adversarial examples are excusable" (arXiv 2204.11985), on Kiln's controlled problem: 28x28 images rendered from a 5-d latent (position x, y, size, angle, ellipse-to-rectangle morph), labels from the sign of sin(w1.z + b1) sin(w2.z + b2) (a 3x3 oblique checkerboard in the latent box), so the exact latent distance of any point to the true boundary is known. Classifiers: CNN (conv 5x5/2 ${c.filters[0]}, conv 3x3/2 ${c.filters[1]}, dense ${c.dense}) trained for ${c.steps} Adam steps of ${c.batchSize} fresh samples (infinite data; peak rate ${c.learningRate}, warm-up then cosine decay): ${trainingText(r)}. ${c.seeds} seed(s); intervals are 95% t intervals over seeds. Off-manifold attacks in pixel space: ${offText(r)}. On-manifold attack: PGD on the latent (${c.attackSteps} steps of latent length ${c.onManifoldStepSize}, ${c.onManifoldRestarts} restart(s)) with the rendered image within the same L2 eps of the original; an on-manifold point counts as an error only if the model disagrees with that point's own true label, and the attack climbs the margin against that label. ${c.attackSize} correctly classified test points attacked per model. Close to the boundary = latent distance below delta = ${c.delta}; ${pct(base)} of all test points are that close (the base rate). Run time ${(r.seconds / 60).toFixed(1)} min wall, ${(r.cpuSeconds / 60).toFixed(1)} CPU-min.` },
    { kind: 'table', columns: columns(r), rows: rows(r), caption: 'Test and adversarial error rates (mean ± 95% interval over seeds); adversarial rates are fractions of attacked, correctly classified points' },
    { kind: 'heading', text: 'Where the errors lie' },
  ];
  for (const kind of modelKinds(c)) {
    const label = modelLabel(kind, c);
    const file = figure(`distances-${slug(kind)}.svg`, histogram([
      { name: 'all test points', values: r.testDistances },
      { name: 'test errors', values: pool(kind, (m) => m.errorDistances) },
      { name: `off-manifold adv. (eps ${c.eps[lastEps]})`, values: pool(kind, (m) => m.attacks[lastEps].offDistances) },
      { name: `on-manifold adv. (eps ${c.eps[lastEps]})`, values: pool(kind, (m) => m.attacks[lastEps].onDistances) },
    ], `Distance to the true boundary, ${label}`, maxD));
    blocks.push({ kind: 'figure', file, caption: `Latent distance to the true boundary (${label}, seeds pooled): test points, test errors, the attacked points that ${offName} fooled, and the on-manifold adversarial latents that are errors` });
  }
  blocks.push({ kind: 'heading', text: 'Examples' });
  for (const ex of r.examples.filter((e) => e.clean.length > 0)) {
    const file = figure(`examples-${slug(ex)}.png`, imageGridPng([ex.clean, ex.off, ex.on], IMAGE_SIZE, 3));
    blocks.push({ kind: 'figure', file, caption: `Seed 0, ${modelLabel(ex, c)}, eps ${ex.eps}: clean test images (top), off-manifold ${offName} (middle), on-manifold PGD (bottom)` });
  }
  blocks.push({ kind: 'heading', text: 'Against the paper\'s claims' }, ...claims(r).map((text): Block => ({ kind: 'text', text })));
  return { doc: { title: 'When adversarial examples are excusable: Kiln reproduction', blocks }, figures };
}

function trainingText(r: ExcusableResult): string {
  const c = r.config;
  return c.trainings.map((t) => {
    if (t === 'noise') return `with Gaussian pixel noise sigma in {${c.sigmas.filter((s) => s > 0).join(', ')}}`;
    if (t === 'pgd') return `adversarially on PGD-L2 examples of image-L2 eps ${c.adversarialEps} (${c.adversarialSteps} steps, random start, every batch; Madry et al. 2018)`;
    return 'without noise';
  }).join('; ');
}

function offText(r: ExcusableResult): string {
  const c = r.config;
  return c.offAttacks.map((a) => (a === 'pgd'
    ? `PGD-L2 (${c.attackSteps} steps, random start, margin loss)`
    : "AutoAttack-L2, standard version (APGD-CE, APGD-T, FAB-T, Square-L2 with the reference's settings; Croce & Hein 2020)")).join(', and ') +
    (c.offAttacks.length > 1 ? '; a point counts as an off-manifold error when any of them fools it' : '');
}

/** One verdict per claim of the abstract, computed from the figures (never asserted blindly). */
function claims(r: ExcusableResult): string[] {
  const c = r.config;
  const e = c.eps.length - 1;
  const base = within(r.testDistances, c.delta);
  const standard: ModelKind = { training: 'standard', sigma: 0 };
  const std = r.runs.filter((m) => sameKind(m, standard));
  const rate = (m: ModelRun) => m.attacks[e].offErrors / m.attacks[e].attacked;
  const nearTest = mean(std.map((m) => within(m.errorDistances, c.delta)).filter((v) => !Number.isNaN(v)));
  const off = summarize(r, standard, rate).mean;
  const on = summarize(r, standard, (m) => m.attacks[e].onErrors / m.attacks[e].attacked).mean;
  const offName = c.offAttacks.map((a) => ATTACK_NAMES[a]).join(' or ');
  const reduction = off > 0 ? 1 - on / off : NaN;
  const noisy = c.trainings.includes('noise') ? c.sigmas.filter((s) => s > 0) : [];
  const bestNoise = noisy.length
    ? noisy.map((s) => ({ s, off: summarize(r, { training: 'noise', sigma: s }, rate).mean }))
      .sort((a, b) => a.off - b.off)[0]
    : null;
  const onNear = mean(r.runs.flatMap((m) => m.attacks[e].onDistances).length
    ? [within(r.runs.flatMap((m) => m.attacks[e].onDistances), c.delta)] : []);
  const verdict = (ok: boolean) => (ok ? '**Agrees.**' : '**Does not agree.**');
  if (!std.length) return ['The paper\'s claims are about the standard model, which this run did not train (add standard to the trainings).'];
  const out = [
    `1. Test errors lie close to the true boundary. ${verdict(nearTest > 2 * base)} ${pct(nearTest)} of the standard model's test errors are within delta = ${c.delta} of the boundary, against ${pct(base)} of all test points (test error ${pct(summarize(r, standard, (m) => m.testError).mean)}).`,
    `2. Adversarial examples are found almost everywhere. ${verdict(off > 0.8)} Off-manifold ${offName} at eps ${c.eps[e]} fools ${pct(off)} of correctly classified points of the standard model.`,
    `3. Restricting attacks to the manifold cuts adversarial errors by about 90%. ${verdict(reduction >= 0.8)} At eps ${c.eps[e]} the on-manifold error rate is ${pct(on)}, a reduction of ${pct(reduction)}.`,
  ];
  if (bestNoise) {
    const offNoise = bestNoise.off;
    out.push(`4. Gaussian-noise training has a similar effect. ${verdict(off > 0 && 1 - offNoise / off >= 0.5)} With sigma ${bestNoise.s} the off-manifold error rate at eps ${c.eps[e]} is ${pct(offNoise)} (standard: ${pct(off)}), a reduction of ${pct(off > 0 ? 1 - offNoise / off : NaN)}.`);
  }
  if (c.trainings.includes('pgd')) out.push(adversarialTrainingText(r, off));
  if (c.offAttacks.length > 1) out.push(attackComparisonText(r));
  out.push(Number.isNaN(onNear)
    ? '5. The remaining adversarial errors lie close to the boundary. Not testable here: no on-manifold adversarial errors were found.'
    : `5. The remaining adversarial errors lie close to the boundary. ${verdict(onNear > 2 * base)} ${pct(onNear)} of on-manifold adversarial errors (all models, eps ${c.eps[e]}) are within delta of the boundary (base rate ${pct(base)}).`);
  out.push('Verdict criteria: claims 1 and 5 agree when the share within delta is more than twice the base rate; claim 2 when off-manifold PGD fools more than 80%; claim 3 when the on/off reduction is at least 80%; claim 4 when the best noise level removes at least half of the off-manifold adversarial errors.');
  return out;
}

/** What PGD training does to off-manifold errors and what it costs in test error, against the standard model. */
function adversarialTrainingText(r: ExcusableResult, standardOff: number): string {
  const c = r.config;
  const e = c.eps.length - 1;
  const pgd: ModelKind = { training: 'pgd', sigma: 0 };
  const off = summarize(r, pgd, (m) => m.attacks[e].offErrors / m.attacks[e].attacked).mean;
  const test = summarize(r, pgd, (m) => m.testError).mean;
  const testStd = summarize(r, { training: 'standard', sigma: 0 }, (m) => m.testError).mean;
  return `Adversarial training as a way to remove off-manifold errors (not a claim of the paper): with PGD-L2 training at eps ${c.adversarialEps} the off-manifold error rate at eps ${c.eps[e]} is ${pct(off)} (standard: ${pct(standardOff)}, a reduction of ${pct(standardOff > 0 ? 1 - off / standardOff : NaN)}), at a test error of ${pct(test)} (standard: ${pct(testStd)}).`;
}

/** How much AutoAttack adds to PGD, over all models and seeds. */
function attackComparisonText(r: ExcusableResult): string {
  const c = r.config;
  return `AutoAttack against PGD off the manifold (all models and seeds pooled): ` + c.eps.map((eps, e) => {
    const total = (name: string) => r.runs.reduce((a, m) => a + (m.attacks[e].offByAttack[name as 'pgd'] ?? 0), 0);
    const attacked = r.runs.reduce((a, m) => a + m.attacks[e].attacked, 0);
    return `at eps ${eps} ${c.offAttacks.map((name) => `${ATTACK_NAMES[name]} fools ${pct(total(name) / attacked)}`).join(', ')}`;
  }).join('; ') + ' of the attacked points.';
}
